/**
 * A private rsyslogd for the server suite: its own config, work directory, pid file and port (TCP and
 * UDP on one port; or TLS), writing every message it gets to two files: `raw.log` (`%rawmsg%`, one
 * line per record as rsyslog received it) and `parsed.log` (the fields rsyslog's parser read, so a
 * test can check our header was understood). Stopped by pid.
 */
import { spawnSync } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { freeTcpAndUdpPort, waitForPort } from '../helpers/free-port.js'
import { ServerProcess } from '../helpers/server-process.js'

export const RSYSLOG_INSTALL = 'apt-get install -y rsyslog rsyslog-gnutls'

/** Files of a CA and a server certificate for 127.0.0.1 / localhost, made with openssl. */
export interface TestCertificates {
  readonly caFile: string
  readonly certFile: string
  readonly keyFile: string
}

export interface RsyslogOptions {
  /** rsyslog's maxMessageSize; null leaves rsyslog's own default (8096 bytes). @default '64k' */
  maxMessageSize?: string | null
  /** Serve TLS (imtcp with the gtls driver, anonymous clients) instead of plain TCP and UDP. */
  tls?: TestCertificates
  /** A port to listen on (a restart on the same port). @default a free one */
  port?: number
}

/** The separator of parsed.log's fields (in no header field, nor in the tests' messages). */
export const FIELD_SEPARATOR = '|#|'

export class Rsyslog {
  readonly port: number
  readonly dir: string
  readonly rawFile: string
  readonly parsedFile: string
  readonly #server: ServerProcess

  private constructor(dir: string, port: number, server: ServerProcess) {
    this.dir = dir
    this.port = port
    this.rawFile = join(dir, 'raw.log')
    this.parsedFile = join(dir, 'parsed.log')
    this.#server = server
  }

  /** Starts rsyslogd in `dir` (its config, work files and output go there) and waits until its port accepts. */
  static async start(dir: string, options: RsyslogOptions = {}): Promise<Rsyslog> {
    const port = options.port ?? (await freeTcpAndUdpPort())
    const config = join(dir, 'rsyslog.conf')
    await writeFile(config, configText(dir, port, options))
    const check = spawnSync('rsyslogd', ['-N1', '-f', config], { encoding: 'utf8' })
    if (check.error === undefined && check.status !== 0) throw new Error(`rsyslog config refused:\n${check.stderr}`)
    const server = ServerProcess.start('rsyslogd', ['-n', '-f', config, '-i', join(dir, 'rsyslogd.pid')], RSYSLOG_INSTALL)
    // A taken port only makes rsyslog log a warning: wait for the port, not for the process.
    try {
      await waitForPort(port, 20_000)
    } catch (error) {
      await server.kill()
      throw new Error(`rsyslogd did not listen on ${port}: ${String(error)}\n${server.stderr.slice(-2000)}`)
    }
    return new Rsyslog(dir, port, server)
  }

  get running(): boolean {
    return this.#server.running
  }

  /** Stops it (SIGTERM, then SIGKILL after 5 s). Idempotent. */
  stop(): Promise<void> {
    return this.#server.stop()
  }

  /** Every record rsyslog wrote (%rawmsg%), one per line. */
  async raw(): Promise<string[]> {
    return lines(this.rawFile)
  }

  /** Every record as the fields rsyslog parsed: pri, app-name, hostname, procid, msgid, timereported, structured-data, msg. */
  async parsed(): Promise<string[][]> {
    return (await lines(this.parsedFile)).map((line) => line.split(FIELD_SEPARATOR))
  }
}

async function lines(file: string): Promise<string[]> {
  try {
    const text = await readFile(file, 'utf8')
    return text === '' ? [] : text.slice(0, text.endsWith('\n') ? -1 : undefined).split('\n')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw error
  }
}

function configText(dir: string, port: number, options: RsyslogOptions): string {
  const q = (text: string): string => JSON.stringify(text)
  const sep = FIELD_SEPARATOR
  const out = [
    options.maxMessageSize === null
      ? `global(workDirectory=${q(dir)})`
      : `global(workDirectory=${q(dir)} maxMessageSize=${q(options.maxMessageSize ?? '64k')})`,
    `template(name="raw" type="string" string="%rawmsg%\\n")`,
    `template(name="parsed" type="string" string="%pri%${sep}%app-name%${sep}%hostname%${sep}%procid%${sep}%msgid%${sep}%timereported:::date-rfc3339%${sep}%structured-data%${sep}%msg%\\n")`,
    `ruleset(name="capture") {`,
    `  action(type="omfile" file=${q(join(dir, 'raw.log'))} template="raw")`,
    `  action(type="omfile" file=${q(join(dir, 'parsed.log'))} template="parsed")`,
    `}`,
  ]
  if (options.tls) {
    out.push(
      `module(load="imtcp")`,
      `input(type="imtcp" address="127.0.0.1" port="${port}" ruleset="capture" streamDriver.name="gtls" streamDriver.mode="1" ` +
        `streamDriver.authMode="anon" streamDriver.CAFile=${q(options.tls.caFile)} streamDriver.CertFile=${q(options.tls.certFile)} ` +
        `streamDriver.KeyFile=${q(options.tls.keyFile)})`,
    )
  } else {
    out.push(
      `module(load="imtcp")`,
      `module(load="imudp")`,
      `input(type="imtcp" address="127.0.0.1" port="${port}" ruleset="capture")`,
      // A larger receive buffer than the kernel's default (rsyslog forces it when run as root): a burst of
      // datagrams is otherwise dropped by the kernel before rsyslog reads it.
      `input(type="imudp" address="127.0.0.1" port="${port}" ruleset="capture" rcvbufSize="16m")`,
    )
  }
  return out.join('\n') + '\n'
}

/** A CA and a server certificate (SAN localhost and 127.0.0.1) made with openssl in `dir`. */
export function makeCertificates(dir: string, name = 'test'): TestCertificates {
  const run = (args: string[]): void => {
    const result = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' })
    if (result.error) throw new Error(`openssl is needed for the TLS tests: apt-get install -y openssl (${String(result.error)})`)
    if (result.status !== 0) throw new Error(`openssl ${args.join(' ')} failed:\n${result.stderr}`)
  }
  const ca = `${name}-ca`
  const server = `${name}-server`
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${ca}.key`, '-out', `${ca}.pem`, '-days', '2', '-subj', `/CN=${name} test CA`])
  run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${server}.key`, '-out', `${server}.csr`, '-subj', '/CN=localhost'])
  spawnSync('sh', ['-c', `printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > ${server}.ext`], { cwd: dir })
  run(['x509', '-req', '-in', `${server}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${server}.pem`, '-days', '2', '-extfile', `${server}.ext`])
  return { caFile: join(dir, `${ca}.pem`), certFile: join(dir, `${server}.pem`), keyFile: join(dir, `${server}.key`) }
}
