/**
 * `pino-courier spool DIR [--drain]`: real child processes of the built CLI, spools made by real apps
 * (pino.transport with a disk spool, against a sink that is down), a real HTTP sink for the drain.
 */
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runNode, startNode } from '../helpers/child-process.js'
import { useCleanups } from '../helpers/cleanups.js'
import { startHttpSink, type HttpSink } from '../helpers/http-sink.js'

const CLI = 'dist/cli/main.js'
const SPOOL_APP = 'test/fixtures/spool-app.mjs'
const LIVE_APP = 'test/fixtures/spool-cli-live-app.mjs'
const cleanups = useCleanups()

interface OwnerJson {
  instance: string
  state: string
  pid: number | null
  records: number
}
interface ListingJson {
  records: number
  senders: {
    name: string
    records: number
    bytes: number
    segments: number
    oldest: string | null
    newest: string | null
    timeSource: string | null
    owners: OwnerJson[]
  }[]
}

function spoolCli(args: string[]): ReturnType<typeof runNode> {
  return runNode(CLI, ['spool', ...args], { timeoutMs: 90_000 })
}

async function listing(dir: string): Promise<ListingJson> {
  const result = await spoolCli([dir, '--json'])
  expect(result.code, result.stderr).toBe(0)
  return JSON.parse(result.stdout) as ListingJson
}

/** A URL where nothing listens (a sink started and closed again). */
async function downUrl(): Promise<string> {
  const sink = await startHttpSink()
  await sink.close()
  return sink.url
}

/** Record ids `i` the sink accepted, sorted. */
function acceptedIds(sink: HttpSink): number[] {
  return sink
    .records()
    .map((r) => r.i as number)
    .sort((a, b) => a - b)
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i)
}

/** Every file and directory under `dir` with its size and modification time: to see that nothing changed. */
function snapshot(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .sort()
    .map((name) => {
      const stats = statSync(join(dir, name))
      return `${name} ${stats.isDirectory() ? 'dir' : stats.size} ${stats.mtimeMs}`
    })
}

/** Runs a spool-app that logs `count` records to a sink that is down and exits with them spooled. */
async function spoolMadeByApp(dir: string, count: number): Promise<void> {
  const app = await runNode(SPOOL_APP, [await downUrl(), dir, String(count)], { timeoutMs: 60_000 })
  expect(app.code, app.stderr).toBe(0)
}

/** Polls `check` (each call a CLI run) until it holds; fails the test after `timeoutMs`. */
async function until(check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

describe('spool', () => {
  it('lists what a real app left (read-only), then --drain sends each record once', async () => {
    const root = await cleanups.tempDir()
    const dir = join(root, 'spool')
    await spoolMadeByApp(dir, 200)

    const before = snapshot(dir)
    const text = await spoolCli([dir])
    expect(text.code).toBe(0)
    expect(text.stdout).toMatch(/^http: 200 records, [\d.]+ KiB, oldest \d+s ago, newest \d+s ago, \d+ segments?$/m)
    expect(text.stdout).toMatch(/released: 200 records/)
    const json = await listing(dir)
    expect(json.records).toBe(200)
    const [sender] = json.senders
    expect(sender).toMatchObject({ name: 'http', records: 200, timeSource: 'records' })
    expect(sender?.owners).toEqual([expect.objectContaining({ state: 'released', records: 200 })])
    expect(Date.parse(sender?.oldest ?? '')).toBeLessThanOrEqual(Date.parse(sender?.newest ?? ''))
    // Listing took nothing over and wrote nothing.
    expect(snapshot(dir)).toEqual(before)

    const sink = await cleanups.sink()
    const drain = await spoolCli([dir, '--drain', '--url', sink.url])
    expect(drain.stderr).toMatch(/http: 200 spooled records taken over: 200 delivered, 0 failed, 0 dropped, 0 left in the spool/)
    expect(drain.code).toBe(0)
    expect(acceptedIds(sink)).toEqual(range(200))
    expect((await listing(dir)).records).toBe(0)
  })

  it('leaves a live owner’s records alone, and drains them once it is dead', async () => {
    const root = await cleanups.tempDir()
    const dir = join(root, 'spool')
    const app = startNode(LIVE_APP, [await downUrl(), dir, '100'], { timeoutMs: 120_000 })
    cleanups.defer(() => app.running && app.signal('SIGKILL'))
    await app.waitForLine(/^logged$/)
    // The transport's worker makes the spool directory after the app has logged: not there at first.
    await until(async () => {
      const result = await spoolCli([dir, '--json'])
      return result.code === 0 && (JSON.parse(result.stdout) as ListingJson).records === 100
    })
    const live = await listing(dir)
    expect(live.senders[0]?.owners).toEqual([expect.objectContaining({ state: 'live', pid: app.process.pid, records: 100 })])
    expect((await spoolCli([dir])).stdout).toMatch(/live \(pid \d+\): 100 records.*its process is running/)

    const sink = await cleanups.sink()
    const untouched = await spoolCli([dir, '--drain', '--url', sink.url])
    expect(untouched.code).toBe(0)
    expect(untouched.stderr).toMatch(new RegExp(`nothing to drain for http: what waits belongs to running processes`))
    expect(untouched.stderr).toMatch(new RegExp(`http: 100 records left alone: their process is running \\(pid ${app.process.pid}\\)`))
    expect(sink.requests.length).toBe(0)

    app.signal('SIGKILL')
    await app.result
    expect((await listing(dir)).senders[0]?.owners).toEqual([expect.objectContaining({ state: 'dead', records: 100 })])
    const drain = await spoolCli([dir, '--drain', '--url', sink.url])
    expect(drain.stderr).toMatch(/http: 100 spooled records taken over: 100 delivered/)
    expect(drain.code).toBe(0)
    expect(acceptedIds(sink)).toEqual(range(100))
  })

  it('counts what an owner adopted from a dead one, and drains both', async () => {
    const root = await cleanups.tempDir()
    const dir = join(root, 'spool')
    const url = await downUrl()
    const records = async (): Promise<number> => {
      const result = await spoolCli([dir, '--json'])
      return result.code === 0 ? (JSON.parse(result.stdout) as ListingJson).records : -1
    }
    // The first app dies with 40 records on disk; the second adopts its directory at start, spools 30
    // of its own, and dies too.
    for (const [count, first, total] of [[40, 0, 40], [30, 40, 70]] as const) {
      const app = startNode(LIVE_APP, [url, dir, String(count), String(first)], { timeoutMs: 120_000 })
      cleanups.defer(() => app.running && app.signal('SIGKILL'))
      await app.waitForLine(/^logged$/)
      await until(async () => (await records()) === total)
      app.signal('SIGKILL')
      await app.result
    }
    const json = await listing(dir)
    expect(json.senders[0]?.owners).toEqual([expect.objectContaining({ state: 'dead', records: 70, adopted: [expect.stringMatching(/^adopted-/)] })])
    expect((await spoolCli([dir])).stdout).toMatch(/dead \(pid \d+\): 70 records.*adopted 1 directory of dead owners/)

    const sink = await cleanups.sink()
    const drain = await spoolCli([dir, '--drain', '--url', sink.url])
    expect(drain.stderr).toMatch(/http: 70 spooled records taken over: 70 delivered/)
    expect(drain.code).toBe(0)
    expect(acceptedIds(sink)).toEqual(range(70))
  })

  it('leaves what it could not send in the spool when the sink stays down past --max-wait-ms', async () => {
    const root = await cleanups.tempDir()
    const dir = join(root, 'spool')
    await spoolMadeByApp(dir, 50)
    const drain = await spoolCli([dir, '--drain', '--url', await downUrl(), '--max-wait-ms', '300'])
    expect(drain.stderr).toMatch(/http: 50 spooled records taken over: 0 delivered, 0 failed, 0 dropped, 50 left in the spool/)
    expect(drain.stderr).toMatch(/--max-wait-ms passed; what was not sent stays in the spool/)
    expect(drain.code).toBe(0)
    const after = await listing(dir)
    expect(after.records).toBe(50)
    expect(after.senders[0]?.owners.every((o) => o.state !== 'live')).toBe(true)

    const sink = await cleanups.sink()
    expect((await spoolCli([dir, '--drain', '--url', sink.url])).code).toBe(0)
    expect(acceptedIds(sink)).toEqual(range(50))
  })

  it('says which records it did not take over (another host’s, with spool.adoptOtherHosts false), and leaves them', async () => {
    const root = await cleanups.tempDir()
    const dir = join(root, 'spool')
    await spoolMadeByApp(dir, 20)
    const [instance] = readdirSync(join(dir, 'http'))
    writeFileSync(join(dir, 'http', instance as string, 'owner.json'), JSON.stringify({ pid: 1, host: 'elsewhere.invalid', createdAt: 1 }))
    const sink = await cleanups.sink()
    const config = join(root, 'courier.json')
    writeFileSync(config, JSON.stringify({ senders: [{ type: 'http', name: 'http', url: sink.url }], spool: { dir: join(root, 'unused'), adoptOtherHosts: false } }))

    const drain = await spoolCli([dir, '--drain', '--config', config])
    expect(drain.code).toBe(0)
    expect(drain.stderr).toMatch(/http: 20 records were not taken over \(owner other-host: written on another host, and the config sets spool\.adoptOtherHosts to false\); they stay in the spool/)
    expect(sink.requests.length).toBe(0)
    expect((await listing(dir)).records).toBe(20)
  })

  it('lists and drains a sender spool that also holds a stray dot-file and a foreign directory', async () => {
    const root = await cleanups.tempDir()
    const dir = join(root, 'spool')
    await spoolMadeByApp(dir, 25)
    // The spool's own start skips names with a dot; a stray file must not hide the sender's records.
    writeFileSync(join(dir, 'http', '.DS_Store'), 'x')
    mkdirSync(join(dir, 'http', 'lost+found'))
    const json = await listing(dir)
    expect(json.senders).toEqual([expect.objectContaining({ name: 'http', records: 25 })])
    const sink = await cleanups.sink()
    const drain = await spoolCli([dir, '--drain', '--url', sink.url])
    expect(drain.code, drain.stderr).toBe(0)
    expect(acceptedIds(sink)).toEqual(range(25))
  })

  it('drains only into a sender of the same name, and says so when none matches', async () => {
    const root = await cleanups.tempDir()
    const dir = join(root, 'spool')
    await spoolMadeByApp(dir, 30)
    const sink = await cleanups.sink()
    const config = join(root, 'courier.json')
    writeFileSync(config, JSON.stringify({ senders: [{ type: 'http', name: 'other', url: sink.url }] }))

    const refused = await spoolCli([dir, '--drain', '--config', config])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toMatch(/none of the config's senders \("other"\) is named after a sender spooled in this directory \(spooled: "http" \(30 records\)\)/)
    expect(sink.requests.length).toBe(0)

    const drained = await spoolCli([dir, '--drain', '--config', config, '--sender', 'http'])
    expect(drained.code).toBe(0)
    expect(acceptedIds(sink)).toEqual(range(30))
  })

  it('exits 2 on a missing directory, a file, a directory that is not a spool, and misused flags', async () => {
    const root = await cleanups.tempDir()
    const file = join(root, 'file.txt')
    writeFileSync(file, 'x')
    const cases: [string[], RegExp][] = [
      [[join(root, 'missing')], /missing: no such directory/],
      [[file], /file\.txt: not a directory/],
      [[root], /not a spool directory .*found file\.txt/],
      [[root, '--url', 'http://127.0.0.1:9/x'], /--url goes with --drain/],
      [[root, '--drain'], /give --url URL or --config FILE/],
    ]
    for (const [args, message] of cases) {
      const result = await spoolCli(args)
      expect(result.stderr).toMatch(message)
      expect(result.code).toBe(2)
    }
  })
})
