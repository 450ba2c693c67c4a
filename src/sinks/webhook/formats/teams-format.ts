/**
 * Microsoft Teams: an Adaptive Card (schema 1.4) in a `message` envelope, the shape both Teams
 * Workflows ("Post to a channel when a webhook request is received") and the older incoming-webhook
 * connectors accept. Workflows takes Adaptive Cards only (no MessageCard), and connectors are being
 * retired: hence this one.
 */
import type { AlertGroupView, DigestSnapshot } from '../alert-digest.js'
import type { AlertFormat } from '../alert-format.js'
import {
  errorLine,
  groupLabel,
  headline,
  levelEmoji,
  moreLines,
  originLine,
  plural,
  timeLine,
  truncate,
  windowLine,
  type AlertLayout,
  type AlertRenderContext,
} from '../alert-text.js'

/**
 * Default body limit. Teams documents about 28 KB per message, but it measures the message after its
 * own re-encoding, and users report `413` from roughly 18 to 20 KB of JSON; 18,000 bytes stays below.
 */
export const TEAMS_DEFAULT_MAX_BODY_BYTES = 18_000

interface TextBlock {
  type: 'TextBlock'
  text: string
  wrap: true
  size?: 'Small' | 'Medium' | 'Large'
  weight?: 'Bolder'
  color?: 'Attention' | 'Warning' | 'Default'
  isSubtle?: true
  spacing?: 'None' | 'Small' | 'Medium'
  fontType?: 'Monospace'
}

interface Container {
  type: 'Container'
  separator: true
  spacing: 'Medium'
  items: TextBlock[]
}

/** The Teams payload: a message with one Adaptive Card attachment. */
export interface TeamsPayload {
  type: 'message'
  attachments: [
    {
      contentType: 'application/vnd.microsoft.card.adaptive'
      contentUrl: null
      content: {
        $schema: 'http://adaptivecards.io/schemas/adaptive-card.json'
        type: 'AdaptiveCard'
        version: '1.4'
        msteams: { width: 'Full' }
        body: (TextBlock | Container)[]
      }
    },
  ]
}

function text(value: string, extra: Omit<TextBlock, 'type' | 'text' | 'wrap'> = {}): TextBlock {
  return { type: 'TextBlock', text: noLinks(value), wrap: true, ...extra }
}

/**
 * TextBlocks render markdown, and log text is not ours: a message like `[Reset your password](https://…)`
 * would show as a link that hides where it goes. A zero-width space between `]` and `(` keeps the text
 * as it reads and makes it no link (Slack and Discord escape their own syntax instead).
 */
export function noLinks(value: string): string {
  return value.includes('](') ? value.replaceAll('](', ']\u200b(') : value
}

function colorOf(level: number): TextBlock['color'] {
  if (level >= 50) return 'Attention'
  if (level >= 40) return 'Warning'
  return 'Default'
}

function container(group: AlertGroupView, layout: AlertLayout, context: AlertRenderContext): Container {
  const items: TextBlock[] = [
    text(`**${groupLabel(group, context)}** ${truncate(group.example.message, 1000)}`, { color: colorOf(group.level) }),
  ]
  const error = errorLine(group)
  if (error !== undefined) items.push(text(truncate(error, 1000), { spacing: 'Small' }))
  const origin = originLine(group, context)
  if (origin !== undefined) items.push(text(truncate(origin, 500), { isSubtle: true, spacing: 'None' }))
  items.push(text(timeLine(group), { isSubtle: true, spacing: 'None', size: 'Small' }))
  // One block per frame: a newline inside a TextBlock is not a line break in every Teams client.
  const { stack, stackOmitted } = group.example
  const frames = stack.slice(0, Math.max(0, layout.stackLines))
  for (const [i, frame] of frames.entries()) {
    items.push(text(truncate(frame, 500), { fontType: 'Monospace', size: 'Small', spacing: i === 0 ? 'Small' : 'None' }))
  }
  const left = frames.length > 0 ? stack.length - frames.length + stackOmitted : 0
  if (left > 0) items.push(text(`… ${plural(left, 'more frame')}`, { isSubtle: true, size: 'Small', spacing: 'None' }))
  return { type: 'Container', separator: true, spacing: 'Medium', items }
}

export const teamsFormat: AlertFormat = {
  name: 'teams',
  defaultMaxBodyBytes: TEAMS_DEFAULT_MAX_BODY_BYTES,

  build(digest: DigestSnapshot, layout: AlertLayout, context: AlertRenderContext): TeamsPayload {
    const body: (TextBlock | Container)[] = [
      text(truncate(`${levelEmoji(digest.level)} ${headline(digest, context)}`, 1000), {
        size: 'Medium',
        weight: 'Bolder',
        color: colorOf(digest.level),
      }),
      text(windowLine(digest, context), { isSubtle: true, spacing: 'None', size: 'Small' }),
    ]
    for (const group of layout.shown) body.push(container(group, layout, context))
    for (const line of moreLines(digest, layout, context)) body.push(text(line, { isSubtle: true, spacing: 'Medium' }))
    return {
      type: 'message',
      attachments: [
        {
          contentType: 'application/vnd.microsoft.card.adaptive',
          contentUrl: null,
          content: {
            $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
            type: 'AdaptiveCard',
            version: '1.4',
            msteams: { width: 'Full' },
            body,
          },
        },
      ],
    }
  },

  // Teams limits the message's size only: the byte limit is the whole check.
  fits: () => true,
}
