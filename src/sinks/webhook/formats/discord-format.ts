/**
 * Discord webhooks: `{ content, embeds, allowed_mentions }`. `content` holds the headline, the window
 * and the "… N more" lines; each group is an embed (title, description with error, times and a stack
 * in a code block, a colour by level, its last time as timestamp). Mentions are switched off.
 */
import type { AlertGroupView, DigestSnapshot } from '../alert-digest.js'
import type { AlertFormat } from '../alert-format.js'
import {
  errorLine,
  framesWithin,
  groupLabel,
  headline,
  isoTime,
  levelEmoji,
  moreLines,
  originLine,
  timeLine,
  truncate,
  windowLine,
  type AlertLayout,
  type AlertRenderContext,
} from '../alert-text.js'

/** Characters of `content`. */
export const DISCORD_MAX_CONTENT_CHARS = 2000
/** Embeds per message. */
export const DISCORD_MAX_EMBEDS = 10
/** Characters of an embed title. */
export const DISCORD_MAX_TITLE_CHARS = 256
/** Characters of an embed description. */
export const DISCORD_MAX_DESCRIPTION_CHARS = 4096
/** Characters of every embed's title, description, fields, footer and author together. */
export const DISCORD_MAX_EMBED_TOTAL_CHARS = 6000

interface DiscordEmbed {
  title: string
  description: string
  color: number
  timestamp: string
}

/** A Discord execute-webhook payload. */
export interface DiscordPayload {
  content: string
  embeds: DiscordEmbed[]
  allowed_mentions: { parse: string[] }
}

/**
 * Backslash-escapes Discord markdown in log text, so that a message with `**`, `||` or a masked link
 * reads as written; quotes, headings and lists only start a line. (`allowed_mentions` is what keeps
 * `@everyone` in a log message from pinging anyone.)
 */
export function escapeDiscord(text: string): string {
  return text.replace(/([\\*_~`|[\]])/g, '\\$1').replace(/^([>#-])/gm, '\\$1')
}

function escaped(text: string, max: number): string {
  const out = escapeDiscord(text)
  if (out.length <= max) return out
  // A cut must not leave a lone backslash that would escape the ellipsis.
  return `${truncate(out, max).slice(0, -1).replace(/\\$/, '')}…`
}

/** Inside a code block nothing is markdown, but a triple backtick would end it. */
function codeSafe(text: string): string {
  return text.replace(/```/g, '`\u200b``')
}

/** Embed colour by level: fatal dark red, error red, warn orange, else blue. */
export function discordColor(level: number): number {
  if (level >= 60) return 0x992d22
  if (level >= 50) return 0xe74c3c
  if (level >= 40) return 0xe67e22
  return 0x3498db
}

function embed(group: AlertGroupView, layout: AlertLayout, context: AlertRenderContext): DiscordEmbed {
  const lines: string[] = []
  const error = errorLine(group)
  if (error !== undefined) lines.push(`**${escaped(error, 1000)}**`)
  const origin = originLine(group, context)
  if (origin !== undefined) lines.push(escaped(origin, 500))
  lines.push(`*${escaped(timeLine(group), 300)}*`)
  let description = lines.join('\n')
  const fence = '\n```\n' + '\n```'
  const frames = framesWithin(group, layout.stackLines, DISCORD_MAX_DESCRIPTION_CHARS - description.length - fence.length, codeSafe)
  if (frames.length > 0) description += `\n\`\`\`\n${frames.join('\n')}\n\`\`\``
  return {
    title: escaped(`${groupLabel(group, context)} ${group.example.message}`, DISCORD_MAX_TITLE_CHARS),
    description,
    color: discordColor(group.level),
    timestamp: isoTime(group.lastAt),
  }
}

export const discordFormat: AlertFormat = {
  name: 'discord',
  defaultMaxBodyBytes: undefined,

  build(digest: DigestSnapshot, layout: AlertLayout, context: AlertRenderContext): DiscordPayload {
    // The window and the "… N more" lines must survive a long headline: the headline gives way.
    const rest = [escaped(windowLine(digest, context), 400), ...moreLines(digest, layout, context).map((l) => escaped(l, 400))].join('\n')
    const room = DISCORD_MAX_CONTENT_CHARS - rest.length - 10
    const top = `${levelEmoji(digest.level)} **${escaped(headline(digest, context), room)}**`
    return {
      content: `${top}\n${rest}`,
      embeds: layout.shown.map((group) => embed(group, layout, context)),
      allowed_mentions: { parse: [] },
    }
  },

  maxShownGroups: DISCORD_MAX_EMBEDS,

  fits(payload: unknown): boolean {
    const { content, embeds } = payload as DiscordPayload
    if (content.length > DISCORD_MAX_CONTENT_CHARS || embeds.length > DISCORD_MAX_EMBEDS) return false
    let total = 0
    for (const e of embeds) total += e.title.length + e.description.length
    return total <= DISCORD_MAX_EMBED_TOTAL_CHARS
  },
}

/**
 * Discord's 429 body: `{"retry_after": 1.234, ...}` in seconds (the `Retry-After` header is rounded
 * up to whole seconds, and some rate limits only say it in the body).
 */
export function discordRetryAfter(body: string): number | undefined {
  const parsed = JSON.parse(body) as { retry_after?: unknown } | null
  const seconds = parsed?.retry_after
  return typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0 ? Math.ceil(seconds * 1000) : undefined
}
