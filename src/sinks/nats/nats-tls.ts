/**
 * Start-up checks of the TLS options and of a `.creds` file: material that cannot work (a file that
 * cannot be read, a certificate or key that does not parse, a key that is not the certificate's, a
 * creds file without a JWT and a seed) would fail every connect as a transient error and be retried
 * until the records fail (or for ever, with a spool). Messages name the option and OpenSSL's reason,
 * never a key, a seed or PEM text.
 */
import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createSecureContext } from 'node:tls'
import type { NatsTlsOptions } from './nats-client.js'

const PEM_CERTIFICATE = /-----BEGIN (?:TRUSTED )?CERTIFICATE-----[\s\S]+?-----END (?:TRUSTED )?CERTIFICATE-----/g

/** What is wrong with one option: its path under the sender's options, and why. */
export interface OptionProblem {
  readonly option: string
  readonly message: string
}

function reason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code
  const why = error instanceof Error ? error.message.replace(/^error:[0-9A-Fa-f]+:/, '') : 'unreadable'
  return code === undefined || why.includes(code) ? why : `${code}: ${why}`
}

/** Why the TLS options cannot work, or undefined. Reads the files they name (the client reads them again at each connect). */
export function tlsProblem(tls: NatsTlsOptions): OptionProblem | undefined {
  const texts: { ca?: string; cert?: string; key?: string } = {}
  for (const [name, file] of [['ca', 'caFile'], ['cert', 'certFile'], ['key', 'keyFile']] as const) {
    if (tls[name] !== undefined && tls[file] !== undefined) return { option: `tls.${file}`, message: `give ${name} or ${file}, not both` }
    const path = tls[file]
    if (path === undefined) {
      if (tls[name] !== undefined) texts[name] = tls[name]
      continue
    }
    try {
      texts[name] = readFileSync(path, 'utf8')
    } catch (error) {
      return { option: `tls.${file}`, message: `cannot read the file: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}` }
    }
  }
  const optionOf = (name: 'ca' | 'cert' | 'key'): string => `tls.${tls[`${name}File`] === undefined ? name : `${name}File`}`
  if (texts.ca !== undefined) {
    const blocks = texts.ca.match(PEM_CERTIFICATE)
    if (blocks === null) return { option: optionOf('ca'), message: 'holds no PEM certificate (-----BEGIN CERTIFICATE-----)' }
    for (const block of blocks) {
      if (block.startsWith('-----BEGIN TRUSTED')) continue
      try {
        new X509Certificate(block)
      } catch (error) {
        return { option: optionOf('ca'), message: `a certificate in it does not parse (${reason(error)})` }
      }
    }
  }
  if ((texts.cert === undefined) !== (texts.key === undefined)) {
    return texts.cert === undefined
      ? { option: optionOf('key'), message: 'a client key needs its certificate (tls.cert or tls.certFile)' }
      : { option: optionOf('cert'), message: 'a client certificate needs its key (tls.key or tls.keyFile)' }
  }
  if (texts.cert === undefined || texts.key === undefined) return undefined
  try {
    createSecureContext({ cert: texts.cert })
  } catch (error) {
    return { option: optionOf('cert'), message: `the certificate does not parse (${reason(error)})` }
  }
  try {
    createSecureContext({ key: texts.key })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_OSSL_BAD_DECRYPT') return { option: optionOf('key'), message: 'the key is encrypted (the NATS client takes no passphrase)' }
    return { option: optionOf('key'), message: `the key does not parse (${reason(error)})` }
  }
  try {
    createSecureContext({ cert: texts.cert, key: texts.key })
  } catch (error) {
    return { option: optionOf('key'), message: `the key is not the certificate's (${reason(error)})` }
  }
  return undefined
}

/** The blocks of a `.creds` file, as the client reads them: the user JWT, then the NKey seed. */
const CREDS_BLOCK = /\s*(?:(?:[-]{3,}[^\n]*[-]{3,}\n)(.+)(?:\n\s*[-]{3,}[^\n]*[-]{3,}\n))/gi

/** Why the contents of a `.creds` file cannot authenticate, or undefined (never showing them). */
export function credsProblem(creds: Uint8Array): string | undefined {
  const text = Buffer.from(creds.buffer, creds.byteOffset, creds.byteLength).toString('utf8')
  const blocks = [...text.matchAll(CREDS_BLOCK)].map((m) => (m[1] ?? '').trim())
  if (blocks.length < 2) return 'holds no user JWT and NKey seed (the blocks nsc writes: -----BEGIN NATS USER JWT----- and -----BEGIN USER NKEY SEED-----)'
  return undefined
}
