// Runs an app given as ES module source in a child process (cwd: the package, so that it imports
// pino-courier by name), with `input` as its JSON argument (process.argv[1]); the app reports on stdout
// with one '@@report <json>' line. Shared by the standalone scenarios (adaptive, queue groups).
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

/** The child's exit code and its parsed report (null when it printed none). */
export async function runInlineApp(source, input) {
  const child = spawn(process.execPath, ['--input-type=module', '-e', source, JSON.stringify(input)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let out = ''
  child.stdout.on('data', (c) => (out += c))
  const code = await new Promise((resolve) => child.on('close', resolve))
  return { code, report: JSON.parse(/@@report (.*)/.exec(out)?.[1] ?? 'null') }
}
