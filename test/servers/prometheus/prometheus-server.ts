/**
 * Debian's real `prometheus` for the server suite: a private instance on a free port with its TSDB
 * in a temp directory, scraping one target every second, queried through its HTTP API.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../helpers/free-port.js'
import { ServerProcess } from '../helpers/server-process.js'

export const INSTALL_PROMETHEUS = 'apt-get install -y prometheus'

/** One sample of an instant query's vector result. */
export interface Sample {
  readonly metric: Record<string, string>
  readonly value: number
}

/** A scrape target as /api/v1/targets reports it. */
export interface Target {
  readonly health: string
  readonly lastError: string
  readonly scrapeUrl: string
  readonly labels: Record<string, string>
}

export class PrometheusServer {
  readonly url: string
  readonly process: ServerProcess
  readonly #dir: string

  private constructor(url: string, process: ServerProcess, dir: string) {
    this.url = url
    this.process = process
    this.#dir = dir
  }

  /**
   * Starts Prometheus scraping `target` (`http://host:port/path`) as job `job` every second, and waits
   * until it serves its API (another port if the one picked was taken meanwhile).
   */
  static async start(target: string, job: string): Promise<PrometheusServer> {
    const dir = await mkdtemp(join(tmpdir(), 'pino-courier-prometheus-'))
    const scrape = new URL(target)
    const config = [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      `  - job_name: ${JSON.stringify(job)}`,
      `    metrics_path: ${JSON.stringify(scrape.pathname)}`,
      `    scheme: ${scrape.protocol.replace(':', '')}`,
      '    static_configs:',
      `      - targets: [${JSON.stringify(scrape.host)}]`,
      '',
    ].join('\n')
    await writeFile(join(dir, 'prometheus.yml'), config)
    for (let tries = 0; ; tries++) {
      const port = await freePort()
      const server = ServerProcess.start(
        'prometheus',
        [
          `--config.file=${join(dir, 'prometheus.yml')}`,
          `--storage.tsdb.path=${join(dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${port}`,
          '--log.level=info',
        ],
        INSTALL_PROMETHEUS,
      )
      try {
        await server.waitForOutput(/Server is ready to receive web requests/, 30_000)
        return new PrometheusServer(`http://127.0.0.1:${port}`, server, dir)
      } catch (error) {
        await server.kill()
        if (!/address already in use/i.test(server.stdout + server.stderr) || tries >= 10) {
          await rm(dir, { recursive: true, force: true })
          throw error
        }
      }
    }
  }

  /** An instant query's vector result (`/api/v1/query`). */
  async query(promql: string): Promise<Sample[]> {
    const data = await this.#api<{ resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] }>(
      `/api/v1/query?query=${encodeURIComponent(promql)}`,
    )
    if (data.resultType !== 'vector') throw new Error(`expected a vector for ${promql}, got ${data.resultType}`)
    return data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }))
  }

  /** The active scrape targets. */
  async targets(): Promise<Target[]> {
    const data = await this.#api<{ activeTargets: Target[] }>('/api/v1/targets?state=active')
    return data.activeTargets
  }

  /** The type Prometheus recorded for a metric family (`counter`, `gauge`, `histogram`), from its metadata. */
  async metricType(name: string): Promise<string | undefined> {
    const data = await this.#api<Record<string, { type: string }[]>>(`/api/v1/metadata?metric=${encodeURIComponent(name)}`)
    return data[name]?.[0]?.type
  }

  async stop(): Promise<void> {
    await this.process.stop()
    await rm(this.#dir, { recursive: true, force: true })
  }

  async #api<T>(path: string): Promise<T> {
    const response = await fetch(this.url + path)
    const body = (await response.json()) as { status: string; data: T; error?: string }
    if (body.status !== 'success') throw new Error(`prometheus ${path}: ${body.error ?? response.status}`)
    return body.data
  }
}
