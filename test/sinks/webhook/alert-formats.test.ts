/**
 * The four body formats, rendered straight from a digest: their exact shape, escaping, and the sink's
 * limits kept whatever the digest holds (many groups, huge messages, deep stacks).
 */
import { describe, expect, it } from 'vitest'
import { AlertDigest, type DigestSnapshot, type PostReason } from '../../../src/sinks/webhook/alert-digest.js'
import { renderAlert, type AlertFormatName, type RenderedAlert } from '../../../src/sinks/webhook/alert-format.js'
import type { AlertRenderContext } from '../../../src/sinks/webhook/alert-text.js'
import {
  DISCORD_MAX_CONTENT_CHARS,
  DISCORD_MAX_DESCRIPTION_CHARS,
  DISCORD_MAX_EMBED_TOTAL_CHARS,
  DISCORD_MAX_EMBEDS,
  DISCORD_MAX_TITLE_CHARS,
  discordRetryAfter,
  type DiscordPayload,
} from '../../../src/sinks/webhook/formats/discord-format.js'
import type { JsonAlertPayload } from '../../../src/sinks/webhook/formats/json-format.js'
import {
  SLACK_MAX_BLOCKS,
  SLACK_MAX_BLOCKS_CHARS,
  SLACK_MAX_HEADER_CHARS,
  SLACK_MAX_SECTION_CHARS,
  SLACK_MAX_TEXT_CHARS,
  type SlackPayload,
} from '../../../src/sinks/webhook/formats/slack-format.js'
import { TEAMS_DEFAULT_MAX_BODY_BYTES, type TeamsPayload } from '../../../src/sinks/webhook/formats/teams-format.js'
import { LevelMap } from '../../../src/config/levels.js'
import { LogRecord } from '../../../src/input/record.js'
import { ALERT_FORMATS } from '../../../src/sinks/webhook/webhook-alert-sender.js'

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5)
const levels = new LevelMap()
const context: AlertRenderContext = {
  title: 'checkout',
  sender: 'alerts',
  levelLabel: (level) => levels.labelOf(level)?.toUpperCase() ?? `LEVEL ${level}`,
  maxGroups: 100,
  extraPaths: [],
}

function stack(type: string, message: string, frames: number, width = 40): string {
  return [`${type}: ${message}`, ...Array.from({ length: frames }, (_, i) => `    at fn${i} (/srv/app/${'m'.repeat(width)}${i}.js:${i}:7)`)].join('\n')
}

function line(fields: Record<string, unknown>): LogRecord {
  const value = { level: 50, time: T0, pid: 42, hostname: 'web-1', ...fields }
  return new LogRecord(JSON.stringify(value), value.level as number)
}

/** A digest of `groups` kinds, kind k occurring k + 1 times, each with a deep stack and a long message. */
function storm(groups: number, options: { frames?: number; width?: number; messageChars?: number; maxGroups?: number } = {}): DigestSnapshot {
  const digest = new AlertDigest({ groupBy: undefined, maxGroups: options.maxGroups ?? 1000, messageKey: 'msg', errorKey: 'err', maxStackLines: 50, maxStackChars: 20_000 })
  for (let k = 0; k < groups; k++) {
    const msg = `kind ${k} ${'x'.repeat(options.messageChars ?? 200)}`
    for (let n = 0; n <= k; n++) {
      digest.add(line({ msg, time: T0 + n, err: { type: 'TypeError', message: `inner ${k}`, stack: stack('TypeError', `inner ${k}`, options.frames ?? 20, options.width) } }), T0)
    }
  }
  return digest.take('window', { start: T0, end: T0 + 60_000 }, T0 + 60_000) as DigestSnapshot
}

/** One record: the first alert of a window. */
function single(fields: Record<string, unknown> = {}, reason: PostReason = 'first'): DigestSnapshot {
  const digest = new AlertDigest({ groupBy: undefined, maxGroups: 100, messageKey: 'msg', errorKey: 'err', maxStackLines: 10, maxStackChars: 2000 })
  digest.add(
    line({
      msg: 'charge failed',
      err: { type: 'TypeError', message: 'amount is undefined', stack: stack('TypeError', 'amount is undefined', 2, 3) },
      ...fields,
    }),
    T0,
  )
  return digest.take(reason, { start: T0, end: T0 + 60_000 }, T0) as DigestSnapshot
}

function render(format: AlertFormatName, digest: DigestSnapshot, maxBodyBytes = ALERT_FORMATS[format].defaultMaxBodyBytes): RenderedAlert {
  return renderAlert(ALERT_FORMATS[format], digest, context, maxBodyBytes)
}

/** Total occurrences of a digest's groups. */
function occurrences(digest: DigestSnapshot): number {
  return digest.groups.reduce((n, g) => n + g.count, 0)
}

describe('slack', () => {
  it('posts text plus a header, a section per group and a context line', () => {
    const payload = JSON.parse(render('slack', single()).body) as SlackPayload
    expect(payload).toEqual({
      text: '🔴 checkout · ERROR: charge failed\n• ERROR charge failed',
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: '🔴 checkout · ERROR: charge failed', emoji: true } },
        {
          type: 'section',
          text: {
            type: 'mrkdwn',
            text:
              '*ERROR* charge failed\nTypeError: amount is undefined\nhost web-1 · pid 42\n_at 2026-01-02 03:04:05Z_\n' +
              '```at fn0 (/srv/app/mmm0.js:0:7)\nat fn1 (/srv/app/mmm1.js:1:7)```',
          },
        },
        {
          type: 'context',
          elements: [{ type: 'mrkdwn', text: 'window 2026-01-02 03:04:05Z – 03:05:05Z · first alert, posted at once · sender alerts' }],
        },
      ],
    })
  })

  it('escapes &, < and > so that a log message cannot ping a channel, and keeps code blocks closed', () => {
    const payload = JSON.parse(
      render('slack', single({ msg: 'hey <!channel> & <@U123>', err: { type: 'E', message: 'x', stack: 'E: x\n    at a ```b``` (c.js:1:1)' } })).body,
    ) as SlackPayload
    const section = payload.blocks[1] as { text: { text: string } }
    expect(section.text.text).toContain('hey &lt;!channel&gt; &amp; &lt;@U123&gt;')
    expect(payload.text).not.toContain('<!channel>')
    expect(section.text.text).toContain('at a `\u200b``b`\u200b`` (c.js:1:1)')
    expect(section.text.text.endsWith('```')).toBe(true)
  })

  it('keeps within 50 blocks, 3,000 characters a section, 12,000 in all, with "… N more" for the rest', () => {
    const digest = storm(120)
    const rendered = render('slack', digest)
    const payload = JSON.parse(rendered.body) as SlackPayload
    expect(payload.blocks.length).toBeLessThanOrEqual(SLACK_MAX_BLOCKS)
    expect(payload.text.length).toBeLessThanOrEqual(SLACK_MAX_TEXT_CHARS)
    let total = 0
    for (const block of payload.blocks) {
      const text = block.type === 'context' ? (block.elements[0]?.text ?? '') : block.text.text
      if (block.type === 'header') expect(text.length).toBeLessThanOrEqual(SLACK_MAX_HEADER_CHARS)
      else expect(text.length).toBeLessThanOrEqual(SLACK_MAX_SECTION_CHARS)
      total += text.length
    }
    expect(total).toBeLessThanOrEqual(SLACK_MAX_BLOCKS_CHARS)
    // Every group is accounted for: shown, or counted in the "more" line.
    expect(rendered.shownGroups + rendered.omittedGroups).toBe(120)
    expect(rendered.omittedGroups).toBeGreaterThan(0)
    const shown = digest.groups.slice(0, rendered.shownGroups).reduce((n, g) => n + g.count, 0)
    expect(payload.blocks.map((b) => (b.type === 'section' ? b.text.text : '')).join('\n')).toContain(
      `… ${rendered.omittedGroups} more groups (${(occurrences(digest) - shown).toLocaleString('en-US')} occurrences) left out to fit the message`,
    )
    // The most frequent groups are the ones shown (same level: by count).
    expect(payload.blocks[1]?.type === 'section' && payload.blocks[1].text.text).toContain('kind 119')
  })

  it('shortens stacks before it leaves groups out', () => {
    // Five groups whose 40-frame stacks fill a section each (cut to 3,000 characters): together over
    // 12,000 characters, but they fit at three frames each.
    const rendered = render('slack', storm(5, { frames: 40, width: 60 }))
    expect(rendered).toMatchObject({ shownGroups: 5, omittedGroups: 0, stackLines: 3 })
    expect(rendered.body).toContain('37 more frames')
  })
})

describe('discord', () => {
  it('posts content, one embed per group, and no mentions', () => {
    const payload = JSON.parse(render('discord', single()).body) as DiscordPayload
    expect(payload).toEqual({
      content: '🔴 **checkout · ERROR: charge failed**\nwindow 2026-01-02 03:04:05Z – 03:05:05Z · first alert, posted at once · sender alerts',
      embeds: [
        {
          title: 'ERROR charge failed',
          description:
            '**TypeError: amount is undefined**\nhost web-1 · pid 42\n*at 2026-01-02 03:04:05Z*\n' +
            '```\nat fn0 (/srv/app/mmm0.js:0:7)\nat fn1 (/srv/app/mmm1.js:1:7)\n```',
          color: 0xe74c3c,
          timestamp: '2026-01-02T03:04:05.000Z',
        },
      ],
      allowed_mentions: { parse: [] },
    })
  })

  it('keeps within 2,000 content characters, 10 embeds, the per-field limits and 6,000 embed characters', () => {
    const digest = storm(30, { messageChars: 3000 })
    const rendered = render('discord', digest)
    const payload = JSON.parse(rendered.body) as DiscordPayload
    expect(payload.content.length).toBeLessThanOrEqual(DISCORD_MAX_CONTENT_CHARS)
    expect(payload.embeds.length).toBeLessThanOrEqual(DISCORD_MAX_EMBEDS)
    let total = 0
    for (const embed of payload.embeds) {
      expect(embed.title.length).toBeLessThanOrEqual(DISCORD_MAX_TITLE_CHARS)
      expect(embed.description.length).toBeLessThanOrEqual(DISCORD_MAX_DESCRIPTION_CHARS)
      total += embed.title.length + embed.description.length
    }
    expect(total).toBeLessThanOrEqual(DISCORD_MAX_EMBED_TOTAL_CHARS)
    expect(rendered.shownGroups + rendered.omittedGroups).toBe(30)
    expect(payload.content).toContain(`… ${rendered.omittedGroups} more groups (`)
  })

  it('lets a huge headline give way to the window and "more" lines', () => {
    const digest = single({ msg: 'm'.repeat(50_000) })
    const payload = JSON.parse(render('discord', digest).body) as DiscordPayload
    expect(payload.content.length).toBeLessThanOrEqual(DISCORD_MAX_CONTENT_CHARS)
    expect(payload.content).toContain('window 2026-01-02 03:04:05Z')
    expect(payload.embeds[0]?.title.length).toBeLessThanOrEqual(DISCORD_MAX_TITLE_CHARS)
  })

  it("reads a 429 body's retry_after in seconds", () => {
    expect(discordRetryAfter('{"message": "You are being rate limited.", "retry_after": 1.2345, "global": false}')).toBe(1235)
    expect(discordRetryAfter('{"retry_after": "soon"}')).toBeUndefined()
    expect(() => discordRetryAfter('<html>')).toThrow()
  })
})

describe('teams', () => {
  it('posts an Adaptive Card 1.4 in a message envelope', () => {
    const payload = JSON.parse(render('teams', single()).body) as TeamsPayload
    expect(payload).toEqual({
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
            body: [
              { type: 'TextBlock', text: '🔴 checkout · ERROR: charge failed', wrap: true, size: 'Medium', weight: 'Bolder', color: 'Attention' },
              {
                type: 'TextBlock',
                text: 'window 2026-01-02 03:04:05Z – 03:05:05Z · first alert, posted at once · sender alerts',
                wrap: true,
                isSubtle: true,
                spacing: 'None',
                size: 'Small',
              },
              {
                type: 'Container',
                separator: true,
                spacing: 'Medium',
                items: [
                  { type: 'TextBlock', text: '**ERROR** charge failed', wrap: true, color: 'Attention' },
                  { type: 'TextBlock', text: 'TypeError: amount is undefined', wrap: true, spacing: 'Small' },
                  { type: 'TextBlock', text: 'host web-1 · pid 42', wrap: true, isSubtle: true, spacing: 'None' },
                  { type: 'TextBlock', text: 'at 2026-01-02 03:04:05Z', wrap: true, isSubtle: true, spacing: 'None', size: 'Small' },
                  { type: 'TextBlock', text: 'at fn0 (/srv/app/mmm0.js:0:7)', wrap: true, fontType: 'Monospace', size: 'Small', spacing: 'Small' },
                  { type: 'TextBlock', text: 'at fn1 (/srv/app/mmm1.js:1:7)', wrap: true, fontType: 'Monospace', size: 'Small', spacing: 'None' },
                ],
              },
            ],
          },
        },
      ],
    })
  })

  it(`keeps the body within ${TEAMS_DEFAULT_MAX_BODY_BYTES} bytes by default, and within a smaller maxBodyBytes`, () => {
    const digest = storm(60)
    for (const max of [TEAMS_DEFAULT_MAX_BODY_BYTES, 4096]) {
      const rendered = render('teams', digest, max)
      expect(rendered.bytes).toBeLessThanOrEqual(max)
      expect(Buffer.byteLength(rendered.body)).toBe(rendered.bytes)
      expect(rendered.shownGroups + rendered.omittedGroups).toBe(60)
      expect(rendered.omittedGroups).toBeGreaterThan(0)
      expect(rendered.body).toContain(`… ${rendered.omittedGroups} more groups (`)
    }
  })
})

describe('json', () => {
  it('posts the digest as structured data', () => {
    const payload = JSON.parse(render('json', single()).body) as JsonAlertPayload
    expect(payload).toEqual({
      source: 'pino-courier',
      sender: 'alerts',
      title: 'checkout',
      summary: 'checkout · ERROR: charge failed',
      reason: 'first',
      at: '2026-01-02T03:04:05.000Z',
      window: { start: '2026-01-02T03:04:05.000Z', end: '2026-01-02T03:05:05.000Z' },
      records: 1,
      groups: [
        {
          key: { level: '50', msg: 'charge failed', 'err.type': 'TypeError' },
          level: 50,
          levelLabel: 'error',
          message: 'charge failed',
          count: 1,
          new: 1,
          firstAt: '2026-01-02T03:04:05.000Z',
          lastAt: '2026-01-02T03:04:05.000Z',
          example: {
            time: '2026-01-02T03:04:05.000Z',
            error: {
              type: 'TypeError',
              message: 'amount is undefined',
              stack: ['at fn0 (/srv/app/mmm0.js:0:7)', 'at fn1 (/srv/app/mmm1.js:1:7)'],
              stackOmitted: 0,
            },
            hostname: 'web-1',
            pid: 42,
          },
        },
      ],
      omitted: { groups: 0, occurrences: 0, records: 0 },
      other: null,
    })
  })

  it('keeps within maxBodyBytes and counts every record it carries: shown, omitted or other', () => {
    const digest = storm(100, { maxGroups: 80 })
    for (const max of [65_536, 4096]) {
      const rendered = render('json', digest, max)
      expect(rendered.bytes).toBeLessThanOrEqual(max)
      const payload = JSON.parse(rendered.body) as JsonAlertPayload
      const shown = payload.groups.reduce((n, g) => n + g.new, 0)
      expect(shown + payload.omitted.records + (payload.other?.new ?? 0)).toBe(payload.records)
      expect(payload.records).toBe((100 * 101) / 2)
      expect(payload.groups.length + payload.omitted.groups).toBe(80)
      expect(payload.other).toMatchObject({ count: payload.other?.new })
    }
  })
})

describe('every format', () => {
  it.each(['slack', 'discord', 'teams', 'json'] as const)('%s: cuts never split an emoji (no lone surrogate in the body)', (format) => {
    const digest = single({ msg: '😀'.repeat(20_000), err: { type: 'E', message: '🔥'.repeat(20_000), stack: `E: x\n    at ${'🧵'.repeat(5000)}` } })
    const rendered = render(format, digest)
    expect(rendered.body).not.toMatch(/\\ud[89a-f][0-9a-f]{2}/i)
    expect(rendered.body).toContain('😀…')
  })

  it.each(['slack', 'discord', 'teams', 'json'] as const)('%s: a 60 KB message with a 200-frame stack still fits', (format) => {
    const digest = single({ msg: 'é'.repeat(30_000), err: { type: 'E', message: 'z'.repeat(60_000), stack: stack('E', 'z', 200, 300) } })
    const rendered = render(format, digest)
    expect(rendered.shownGroups).toBe(1)
    expect(ALERT_FORMATS[format].fits(JSON.parse(rendered.body))).toBe(true)
    const limit = ALERT_FORMATS[format].defaultMaxBodyBytes
    if (limit !== undefined) expect(rendered.bytes).toBeLessThanOrEqual(limit)
  })
})
