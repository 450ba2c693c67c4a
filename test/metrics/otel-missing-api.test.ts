/**
 * An app that installed pino-courier without @opentelemetry/api (an optional peer) and calls the
 * bridge: a clear error naming the package and the command that installs it. The app is a copy of the
 * built package (dist/: run `npm run build` first) in a temp directory, next to links to its own
 * dependencies only, so that nothing resolves from this repository's node_modules.
 */
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadOpenTelemetryApi } from '../../src/metrics/otel-api.js'
import { fixture } from '../fixtures/integration.js'
import { runNode } from '../helpers/child-process.js'
import { useCleanups } from '../helpers/cleanups.js'
import { appWithoutOptionalPeers } from '../helpers/bare-app.js'

const { tempDir } = useCleanups()

const appWithoutOpenTelemetry = async (): Promise<string> => appWithoutOptionalPeers(await tempDir())

describe('bridgeToOpenTelemetry without @opentelemetry/api installed', () => {
  it('throws at once, naming the package and `npm install @opentelemetry/api`', async () => {
    const app = await appWithoutOpenTelemetry()
    const result = await runNode(fixture('otel-no-api-app.mjs'), [join(app, 'node_modules', 'pino-courier', 'dist')], { timeoutMs: 30_000 })
    const line = result.stdout.split('\n').find((l) => l.startsWith('BRIDGE: '))
    expect(line, result.stdout + result.stderr).toBeDefined()
    expect(line).not.toBe('BRIDGE: no error')
    const error = JSON.parse((line as string).slice('BRIDGE: '.length)) as { name: string; message: string }
    expect(error.message).toBe(
      'pino-courier: bridgeToOpenTelemetry needs @opentelemetry/api, an optional peer dependency of pino-courier ' +
        'that is not installed: run `npm install @opentelemetry/api` in your app',
    )
    expect(result.code).toBe(0)
  })

  it('names the package when it is there but cannot be loaded, or is not the API 1.x', () => {
    const broken = (): never => {
      throw new SyntaxError('Unexpected token')
    }
    expect(() => loadOpenTelemetryApi(broken)).toThrow(/could not load @opentelemetry\/api for bridgeToOpenTelemetry: SyntaxError/)
    expect(() => loadOpenTelemetryApi(() => ({}))).toThrow(/needs @opentelemetry\/api 1\.x/)
    expect(loadOpenTelemetryApi().ValueType.INT).toBe(0)
  })
})
