/**
 * Slack incoming webhooks: `{ text, blocks }`. `text` is the notification and fallback text; the
 * blocks show a header, one section per group (message, error, times, a stack in a code block) and a
 * context line about the window.
 */
import type { AlertGroupView, DigestSnapshot } from '../alert-digest.js'
import type { AlertFormat } from '../alert-format.js'
import {
  errorLine,
  framesWithin,
  groupLabel,
  headline,
  levelEmoji,
  moreLines,
  originLine,
  timeLine,
  truncate,
  windowLine,
  type AlertLayout,
  type AlertRenderContext,
} from '../alert-text.js'

/** Blocks per message (Slack refuses more). */
export const SLACK_MAX_BLOCKS = 50
/** Characters of a section's text. */
export const SLACK_MAX_SECTION_CHARS = 3000
/** Characters of a header's plain text. */
export const SLACK_MAX_HEADER_CHARS = 150
/** Characters of a context element's text (kept below the 3,000 of a text object). */
export const SLACK_MAX_CONTEXT_CHARS = 2000
/**
 * Characters of all block texts together. Not documented, but Slack answers `msg_blocks_too_long`
 * from about 13,000 (reported with chat.postMessage); 12,000 stays clear of it.
 */
export const SLACK_MAX_BLOCKS_CHARS = 12_000
/**
 * Characters of the top-level `text`. Slack truncates it at 40,000; with blocks it is only the
 * notification and fallback, so it is kept short.
 */
export const SLACK_MAX_TEXT_CHARS = 3000

interface TextObject {
  type: 'plain_text' | 'mrkdwn'
  text: string
  emoji?: boolean
}

type SlackBlock =
  | { type: 'header'; text: TextObject }
  | { type: 'section'; text: TextObject }
  | { type: 'context'; elements: TextObject[] }

/** A Slack incoming-webhook payload. */
export interface SlackPayload {
  text: string
  blocks: SlackBlock[]
}

/**
 * Escapes text for mrkdwn. Slack reads `<!channel>`, `<@U123>` and `<https://…|label>` as mentions
 * and links: a log message must not ping a channel.
 */
export function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

/** Escapes and cuts to `max` characters without splitting an entity. */
function escaped(text: string, max: number): string {
  const out = escapeSlack(text)
  if (out.length <= max) return out
  return `${truncate(out, max).slice(0, -1).replace(/&[a-z]*$/, '')}…`
}

/** A code block must not end early: a triple backtick inside a frame is broken up. */
function codeSafe(text: string): string {
  return escapeSlack(text).replace(/```/g, '`\u200b``')
}

function section(group: AlertGroupView, layout: AlertLayout, context: AlertRenderContext): string {
  const lines = [`*${escaped(groupLabel(group, context), 100)}* ${escaped(group.example.message, 600)}`]
  const error = errorLine(group)
  if (error !== undefined) lines.push(escaped(error, 600))
  const origin = originLine(group, context)
  if (origin !== undefined) lines.push(escaped(origin, 400))
  lines.push(`_${escaped(timeLine(group), 200)}_`)
  let text = lines.join('\n')
  const fence = '\n```' + '```'
  const frames = framesWithin(group, layout.stackLines, SLACK_MAX_SECTION_CHARS - text.length - fence.length, codeSafe)
  if (frames.length > 0) text += `\n\`\`\`${frames.join('\n')}\`\`\``
  return text
}

export const slackFormat: AlertFormat = {
  name: 'slack',
  defaultMaxBodyBytes: undefined,

  build(digest: DigestSnapshot, layout: AlertLayout, context: AlertRenderContext): SlackPayload {
    const title = `${levelEmoji(digest.level)} ${headline(digest, context)}`
    const more = moreLines(digest, layout, context)
    const blocks: SlackBlock[] = [
      { type: 'header', text: { type: 'plain_text', text: truncate(title, SLACK_MAX_HEADER_CHARS), emoji: true } },
    ]
    for (const group of layout.shown) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: section(group, layout, context) } })
    if (more.length > 0) {
      blocks.push({ type: 'section', text: { type: 'mrkdwn', text: escaped(more.join('\n'), SLACK_MAX_SECTION_CHARS) } })
    }
    blocks.push({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: escaped(windowLine(digest, context), SLACK_MAX_CONTEXT_CHARS) }],
    })
    const summary = [title, ...layout.shown.map((g) => `• ${groupLabel(g, context)} ${g.example.message}`), ...more]
    return { text: escaped(summary.join('\n'), SLACK_MAX_TEXT_CHARS), blocks }
  },

  maxShownGroups: SLACK_MAX_BLOCKS,

  fits(payload: unknown): boolean {
    const { text, blocks } = payload as SlackPayload
    if (blocks.length > SLACK_MAX_BLOCKS || text.length > SLACK_MAX_TEXT_CHARS) return false
    let chars = 0
    for (const block of blocks) {
      if (block.type === 'context') for (const element of block.elements) chars += element.text.length
      else chars += block.text.text.length
    }
    return chars <= SLACK_MAX_BLOCKS_CHARS
  },
}
