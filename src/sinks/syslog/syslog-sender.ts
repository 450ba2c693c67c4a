import { hostname as osHostname } from 'node:os'
import { readFileSync } from 'node:fs'
import { z } from 'zod'
import { ConfigError } from '../../config/config-error.js'
import type { CommonSenderOptions, DeliveryOptions, PoolOptions } from '../../config/delivery-options.js'
import { CHECKED, resolveSenderConfig, validate } from '../../config/resolve.js'
import { commonSenderShape } from '../../config/schema.js'
import { QueuedSender } from '../../senders/queued-sender.js'
import type { SenderContext } from '../../senders/sender.js'
import { RecordFields } from '../shared/record-fields.js'
import { defineSinkType } from '../sink-type.js'
import {
  FACILITIES,
  facilityCode,
  printableAscii,
  sdKeys,
  type FacilityName,
  type OversizePolicy,
  type SyslogFormat,
  type SyslogFraming,
} from './syslog-format.js'
import { SyslogSink, type SyslogTransport } from './syslog-sink.js'
import { tlsMaterialProblem, type SyslogTlsOptions } from './syslog-stream.js'

export { FACILITIES, severityOf, type FacilityName, type OversizePolicy, type SyslogFormat, type SyslogFraming } from './syslog-format.js'
export type { SyslogTlsOptions } from './syslog-stream.js'

/**
 * Options of {@link createSyslogSender}. Messages are RFC 5424 by default, their MSG the record's
 * whole JSON line; over TCP and TLS they are framed by octet counting (RFC 6587), over UDP one per
 * datagram. Syslog has no acknowledgement: a record counts as delivered once the kernel took its
 * bytes (see `docs/syslog.md`).
 */
export interface SyslogSenderOptions extends CommonSenderOptions {
  /**
   * The receiver: `udp://host:514`, `tcp://host:514` or `tls://host:6514` (the port defaults to 514,
   * and 6514 for tls). No user, path or query: syslog has none.
   */
  url: string
  /** `rfc5424` (`<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG`) or the BSD `rfc3164`. @default 'rfc5424' */
  format?: SyslogFormat
  /**
   * How messages are delimited over TCP and TLS (RFC 6587): `octet-counting` (`LEN SP MSG`) or `lf`
   * (`MSG LF`, an LF inside a message written as the two characters `\n`). TLS takes octet counting
   * only (RFC 5425). Not used over UDP. @default 'octet-counting'
   */
  framing?: SyslogFraming
  /** Facility: a name (`user`, `daemon`, `local0` … `local7`, see FACILITIES) or its number 0-23. @default 'user' */
  facility?: FacilityName | number
  /**
   * APP-NAME (RFC 5424: 1-48 printable US-ASCII characters) or TAG (RFC 3164: 1-32, and no `:`, `[`
   * or `]`). @default 'node'
   */
  appName?: string
  /**
   * HOSTNAME: 1-255 printable US-ASCII characters. @default the machine's host name (`os.hostname()`),
   * characters outside printable US-ASCII left out
   */
  hostname?: string
  /** MSGID (RFC 5424 only): 1-32 printable US-ASCII characters. @default none ('-') */
  msgId?: string
  /**
   * MSG is the record's `messageKey` field (`msg`) alone instead of its whole JSON line. A record
   * without a message sends its JSON line. @default false
   */
  messageOnly?: boolean
  /**
   * One SD-ELEMENT with record fields as its params (RFC 5424 only): `id` is an SD-ID of your own,
   * `name@<private enterprise number>`; `keys` a list of field paths (each its own PARAM-NAME:
   * `['req.id']` → `req.id="…"`) or `{ paramName: path }`. A path is a top-level key first, else a
   * dotted path. Strings go as they are, numbers and booleans as text, objects as JSON; `"`, `\` and
   * `]` are escaped. A record with none of the fields has no structured data (`-`). @default none
   * @example { id: 'pino@32473', keys: { reqId: 'req.id', user: 'user.id' } }
   */
  structuredData?: { id: string; keys: string[] | Record<string, string> }
  /**
   * Start MSG with the UTF-8 byte order mark (RFC 5424 §6.4 asks for it on UTF-8 text). Off by
   * default: receivers (rsyslog) keep it as part of the message, where it breaks JSON parsers
   * downstream; JSON is UTF-8 by definition (RFC 8259) anyway. @default false
   */
  bom?: boolean
  /**
   * Largest syslog message in bytes (framing not counted). A longer one is cut at a UTF-8 character
   * boundary (its MSG, then its structured data if that alone is too long), sent, and counted in the
   * sender's `truncated` stat (`stats().truncated`, the `courier:stats` events); or refused for good with `oversize: 'reject'`. At least 480 (what
   * every receiver must take, RFC 5426), which leaves room for a message after the longest header
   * the checked header fields make (383 bytes); over UDP at most 65507.
   * @default 2048 over UDP (RFC 5426: what every receiver should take), 8096 over TCP and TLS
   * (rsyslog's default maxMessageSize, 8096 bytes: it splits a longer message into several records),
   * 1024 for rfc3164 whatever the transport (RFC 3164 §4.1)
   */
  maxMessageBytes?: number
  /**
   * A message longer than `maxMessageBytes`: `truncate` (cut and sent, counted) or `reject` (failed
   * for good, dead-lettered when a dead-letter file is set). @default 'truncate'
   */
  oversize?: OversizePolicy
  /** TLS settings (tls:// only): PEM text, or files read on every new connection. @default Node's CAs, verified */
  tls?: SyslogTlsOptions
  /**
   * The worker pool. One delivery at a time (the default) keeps records in order on the one
   * connection, a batch that failed being sent again before any later one. @default { concurrency: 1, timeoutMs: 10000 }
   */
  pool?: PoolOptions
}

/** The header fields' limits (RFC 5424 §6). */
const LIMITS = { hostname: 255, appName: 48, tag: 32, msgId: 32 } as const
/** Smallest maxMessageBytes: what every receiver must take (RFC 5426 §3.2, IPv4). */
export const MIN_MESSAGE_BYTES = 480
/** Largest UDP payload over IPv4 (65535 - 20 IP - 8 UDP). */
export const MAX_UDP_BYTES = 65_507
/** Defaults of maxMessageBytes. */
export const DEFAULT_MAX_MESSAGE_BYTES = Object.freeze({ udp: 2048, stream: 8096, rfc3164: 1024 })
/** Default ports of the URL's schemes. */
export const DEFAULT_PORTS = Object.freeze({ udp: 514, tcp: 514, tls: 6514 })
/** Default APP-NAME / TAG. */
export const DEFAULT_APP_NAME = 'node'

const printable = (max: number, what: string) =>
  z
    .string()
    .min(1)
    .max(max)
    .regex(/^[\x21-\x7e]+$/, `${what} takes printable US-ASCII only (no spaces)`)

const sdName = z
  .string()
  .min(1)
  .max(32)
  .regex(/^[\x21-\x7e]+$/, 'printable US-ASCII only')
  .regex(/^[^= \]"]+$/, 'no `=`, space, `]` or `"` (RFC 5424 SD-NAME)')

const urlSchema = z.string().superRefine((text, ctx) => {
  const problem = urlProblem(text)
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem })
})

export const syslogSenderOptionsSchema = z.strictObject({
  ...commonSenderShape,
  url: urlSchema,
  format: z.enum(['rfc5424', 'rfc3164']).optional(),
  framing: z.enum(['octet-counting', 'lf']).optional(),
  facility: z
    .union([z.enum(Object.keys(FACILITIES) as [FacilityName, ...FacilityName[]]), z.number().int().min(0).max(23)])
    .optional(),
  appName: printable(LIMITS.appName, 'APP-NAME').optional(),
  hostname: printable(LIMITS.hostname, 'HOSTNAME').optional(),
  msgId: printable(LIMITS.msgId, 'MSGID').optional(),
  messageOnly: z.boolean().optional(),
  structuredData: z
    .strictObject({
      id: sdName.regex(/^[^@]+@\d+$/, 'an SD-ID of your own is `name@<private enterprise number>` (RFC 5424 §7.2.2)'),
      keys: z.union([
        z.array(sdName).min(1),
        z.record(sdName, z.string().min(1)).refine((keys) => Object.keys(keys).length > 0, 'name at least one field'),
      ]),
    })
    .optional(),
  bom: z.boolean().optional(),
  maxMessageBytes: z.number().int().min(MIN_MESSAGE_BYTES).optional(),
  oversize: z.enum(['truncate', 'reject']).optional(),
  tls: z
    .strictObject({
      ca: z.union([z.string().min(1), z.array(z.string().min(1))]).optional(),
      caFile: z.string().min(1).optional(),
      cert: z.string().min(1).optional(),
      certFile: z.string().min(1).optional(),
      key: z.string().min(1).optional(),
      keyFile: z.string().min(1).optional(),
      passphrase: z.string().optional(),
      rejectUnauthorized: z.boolean().optional(),
      servername: z.string().min(1).optional(),
    })
    .optional(),
})

/** Why `text` is not a syslog URL (never quoting it: it could carry something secret), or undefined. */
function urlProblem(text: string): string | undefined {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return 'Invalid URL (expected udp://host:port, tcp://host:port or tls://host:port)'
  }
  if (!['udp:', 'tcp:', 'tls:'].includes(url.protocol)) return 'expected a udp://, tcp:// or tls:// URL'
  if (url.hostname === '') return 'the URL has no host'
  // A tcp:// or udp:// URL keeps its host as written: a %-escape would be looked up as it stands.
  if (url.hostname.includes('%')) return 'the host has a %-escape: write it plainly'
  if (url.port === '0') return 'port 0 is not a port a receiver listens on'
  if (url.username !== '' || url.password !== '') return 'syslog takes no credentials in the URL (use tls client certificates)'
  if ((url.pathname !== '' && url.pathname !== '/') || url.search !== '' || url.hash !== '') return 'a syslog URL has no path, query or fragment'
  return undefined
}

/**
 * Delivery defaults of the syslog sender: the general ones (one delivery at a time, batches up to 1 MiB
 * written as one write).
 */
export const SYSLOG_SENDER_DEFAULTS: DeliveryOptions = {}

/** A ConfigError for a rule between options, relative to the sender. */
function ruleError(path: string, message: string): ConfigError {
  return new ConfigError(`pino-courier: invalid options: ${path}: ${message}`, { paths: [path] })
}

/**
 * Sends records to a syslog receiver (rsyslog, syslog-ng, a SIEM) over UDP, TCP or TLS.
 *
 * Delivered means: over TCP and TLS, the batch's bytes were handed to the kernel (the write's callback
 * fired) while the connection was up; over UDP, every datagram was sent without error. Syslog has no
 * acknowledgement, so what sat in kernel buffers when the receiver stopped is lost while counted
 * delivered. A connection lost during a write fails the attempt, and the whole batch is sent again on
 * a new connection: the receiver may get the messages it had read before the loss twice.
 */
export class SyslogSender extends QueuedSender {
  /** Scheme, host and port of the receiver. */
  readonly endpoint: string
  readonly #sink: SyslogSink

  /** `checked`: the registry's token for options the transport's schema accepted already. */
  constructor(options: SyslogSenderOptions, context: SenderContext = {}, checked?: typeof CHECKED) {
    if (checked !== CHECKED) validate(syslogSenderOptionsSchema, options)
    const {
      url,
      format = 'rfc5424',
      framing = 'octet-counting',
      facility = 'user',
      appName = DEFAULT_APP_NAME,
      hostname,
      msgId,
      messageOnly = false,
      structuredData,
      bom = false,
      maxMessageBytes,
      oversize = 'truncate',
      tls,
      ...common
    } = options
    const parsed = new URL(url)
    const transport = parsed.protocol.slice(0, -1) as SyslogTransport
    checkRules(options, transport, format)
    const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1')
    const port = parsed.port === '' ? DEFAULT_PORTS[transport] : Number(parsed.port)
    const origin = `${transport}://${parsed.host}${parsed.port === '' ? `:${port}` : ''}`
    const encoder = {
      format,
      facility: facilityCode(facility),
      hostname: hostname ?? (printableAscii(osHostname(), LIMITS.hostname) || (format === 'rfc5424' ? '-' : 'localhost')),
      appName,
      procId: String(process.pid),
      msgId: msgId ?? '-',
      messageOnly,
      structuredData: structuredData === undefined ? undefined : { id: structuredData.id, keys: sdKeys(structuredData.keys) },
      bom: format === 'rfc5424' && bom,
      maxMessageBytes:
        maxMessageBytes ?? (format === 'rfc3164' ? DEFAULT_MAX_MESSAGE_BYTES.rfc3164 : transport === 'udp' ? DEFAULT_MAX_MESSAGE_BYTES.udp : DEFAULT_MAX_MESSAGE_BYTES.stream),
    }
    const sink = new SyslogSink({ transport, host, port, origin, framing, oversize, tls, encoder }, new RecordFields(context))
    super(resolveSenderConfig(common, context, SYSLOG_SENDER_DEFAULTS, 'syslog'), sink, context)
    this.#sink = sink
    this.endpoint = origin
  }

  /** TCP/TLS connections opened so far (a count above 1 means the connection was lost and made again). */
  get connections(): number {
    return this.#sink.connections
  }
}

/** The rules between options that one option's schema cannot check. */
function checkRules(options: SyslogSenderOptions, transport: SyslogTransport, format: SyslogFormat): void {
  if (transport === 'tls' && options.framing === 'lf') {
    throw ruleError('framing', "TLS takes octet counting only (RFC 5425): leave framing unset or 'octet-counting'")
  }
  if (options.tls !== undefined && transport !== 'tls') throw ruleError('tls', 'TLS settings need a tls:// url')
  if (format === 'rfc3164') {
    if (options.structuredData !== undefined) throw ruleError('structuredData', 'structured data needs format rfc5424')
    if (options.msgId !== undefined) throw ruleError('msgId', 'MSGID needs format rfc5424')
    if (options.bom !== undefined) throw ruleError('bom', 'the BOM is an RFC 5424 feature')
    const tag = options.appName ?? DEFAULT_APP_NAME
    if (tag.length > LIMITS.tag || /[:[\]]/.test(tag)) {
      throw ruleError('appName', `an RFC 3164 TAG has at most ${LIMITS.tag} characters and no ':', '[' or ']'`)
    }
  }
  if (transport === 'udp' && options.maxMessageBytes !== undefined && options.maxMessageBytes > MAX_UDP_BYTES) {
    throw ruleError('maxMessageBytes', `a UDP datagram carries at most ${MAX_UDP_BYTES} bytes`)
  }
  for (const [name, file] of Object.entries({ caFile: options.tls?.caFile, certFile: options.tls?.certFile, keyFile: options.tls?.keyFile })) {
    if (file === undefined) continue
    try {
      readFileSync(file)
    } catch (error) {
      throw ruleError(`tls.${name}`, `cannot read the file: ${(error as NodeJS.ErrnoException).code ?? String(error)}`)
    }
  }
  for (const [name, file] of [['ca', 'caFile'], ['cert', 'certFile'], ['key', 'keyFile']] as const) {
    if (options.tls?.[name] !== undefined && options.tls[file] !== undefined) throw ruleError(`tls.${file}`, `give ${name} or ${file}, not both`)
  }
  // Certificates and keys that cannot work fail every connection: refused now, not retried for ever.
  const problem = options.tls === undefined ? undefined : tlsMaterialProblem(options.tls)
  if (problem !== undefined) throw ruleError(`tls.${problem.option}`, problem.message)
}

/** `{ type: 'syslog', url, … }` in the transport options. */
export const syslogSinkType = defineSinkType({
  type: 'syslog',
  schema: syslogSenderOptionsSchema as unknown as z.ZodType<SyslogSenderOptions>,
  defaults: SYSLOG_SENDER_DEFAULTS,
  queued: true,
  create: (options: SyslogSenderOptions, context) => new SyslogSender(options, context, CHECKED),
})

/**
 * Creates a sender that ships records to a syslog receiver over UDP, TCP or TLS.
 * @example createSyslogSender({ url: 'tls://logs.example.com:6514', appName: 'api', facility: 'local0' })
 */
export function createSyslogSender(options: SyslogSenderOptions, context?: SenderContext): SyslogSender {
  return new SyslogSender(options, context)
}
