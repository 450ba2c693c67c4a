/**
 * Options and the standard OTEL_* environment variables: which wins, how each variable is read (as
 * the OpenTelemetry Node SDK reads it), and the ConfigErrors with option paths for what cannot work.
 */
import { hostname } from 'node:os'
import { describe, expect, it } from 'vitest'
import { ConfigError, createSenders } from '../../../src/index.js'
import { defaultServiceName, parseKeyValues, resolveOtlpSettings, resourceFromEnv, type OtlpEnv } from '../../../src/sinks/otlp/otlp-env.js'
import { OtlpSender, type OtlpSenderOptions } from '../../../src/sinks/otlp/otlp-sender.js'

function settings(options: OtlpSenderOptions, env: OtlpEnv = {}) {
  return resolveOtlpSettings(options, env)
}

function configError(run: () => unknown): ConfigError {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return error as ConfigError
  }
  throw new Error('expected a ConfigError')
}

describe('url', () => {
  it('adds /v1/logs to a base URL with an empty path or /, keeps any other path', () => {
    expect(settings({ url: 'http://collector:4318' }).url).toBe('http://collector:4318/v1/logs')
    expect(settings({ url: 'http://collector:4318/' }).url).toBe('http://collector:4318/v1/logs')
    expect(settings({ url: 'https://proxy.example/otlp/logs?tenant=a' }).url).toBe('https://proxy.example/otlp/logs?tenant=a')
  })

  it('uses OTEL_EXPORTER_OTLP_LOGS_ENDPOINT as is, and OTEL_EXPORTER_OTLP_ENDPOINT with v1/logs appended to its path', () => {
    expect(settings({}, { OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'http://a:4318/custom' }).url).toBe('http://a:4318/custom')
    expect(settings({}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://b:4318' }).url).toBe('http://b:4318/v1/logs')
    expect(settings({}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://b:4318/prefix/' }).url).toBe('http://b:4318/prefix/v1/logs')
    expect(settings({}, { OTEL_EXPORTER_OTLP_ENDPOINT: ' http://b:4318/prefix ' }).url).toBe('http://b:4318/prefix/v1/logs')
  })

  it('prefers the option, then the logs endpoint, then the general one; blank variables count as unset', () => {
    const env = { OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'http://logs:1/x', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://all:2' }
    expect(settings({ url: 'http://option:3' }, env).url).toBe('http://option:3/v1/logs')
    expect(settings({}, env).url).toBe('http://logs:1/x')
    expect(settings({}, { ...env, OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: '   ' }).url).toBe('http://all:2/v1/logs')
  })

  it('is a ConfigError naming url when neither the option nor the environment gives one', () => {
    const error = configError(() => settings({}, { OTEL_EXPORTER_OTLP_ENDPOINT: '' }))
    expect(error.paths).toEqual(['url'])
    expect(error.message).toMatch(/url: required: set it, or OTEL_EXPORTER_OTLP_LOGS_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT/)
  })

  it('is a ConfigError naming url and the variable for an endpoint that is not a URL, without echoing it', () => {
    const error = configError(() => settings({}, { OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'ftp://user:s3cret@host/x' }))
    expect(error.paths).toEqual(['url'])
    expect(error.message).toContain('OTEL_EXPORTER_OTLP_LOGS_ENDPOINT')
    expect(error.message).not.toContain('s3cret')
    expect(configError(() => settings({}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' })).message).toContain('OTEL_EXPORTER_OTLP_ENDPOINT')
  })

  it('names senders[i].url through the registry, and the option’s own errors as the schema reports them', async () => {
    const saved = { ...process.env }
    delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT
    delete process.env.OTEL_EXPORTER_OTLP_LOGS_ENDPOINT
    try {
      const missing = await createSenders([{ type: 'otlp' }], {}).catch((error: unknown) => error)
      expect(missing).toBeInstanceOf(ConfigError)
      expect((missing as ConfigError).paths).toEqual(['senders[0].url'])
      const bad = await createSenders([{ type: 'otlp', url: 'nope', protocol: 'grpc', gzip: 'yes', resource: { team: { nested: 1 } } }], {}).catch((e: unknown) => e)
      expect((bad as ConfigError).paths).toEqual(
        expect.arrayContaining(['senders[0].url', 'senders[0].protocol', 'senders[0].gzip', 'senders[0].resource.team']),
      )
    } finally {
      process.env = saved
    }
  })
})

describe('protocol and compression', () => {
  it('defaults to http/protobuf; the logs variable wins over the general one; the option over both', () => {
    expect(settings({ url: 'http://c' }).protocol).toBe('http/protobuf')
    expect(settings({ url: 'http://c' }, { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }).protocol).toBe('http/json')
    const both = { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'http/protobuf' }
    expect(settings({ url: 'http://c' }, both).protocol).toBe('http/protobuf')
    expect(settings({ url: 'http://c', protocol: 'http/json' }, { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }).protocol).toBe('http/json')
  })

  it('refuses grpc (and unknown protocols) from the environment with a ConfigError naming protocol', () => {
    const error = configError(() => settings({ url: 'http://c' }, { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }))
    expect(error.paths).toEqual(['protocol'])
    expect(error.message).toMatch(/OTEL_EXPORTER_OTLP_PROTOCOL=grpc .*gRPC is not supported; only http\/protobuf and http\/json/)
    // The variable is usually the app SDK's: the message says how to start anyway.
    expect(error.message).toContain("Set protocol: 'http/protobuf' (or 'http/json') in this sender's options to override the variable")
    // An explicit protocol wins silently, the explicit url or not.
    expect(settings({ url: 'http://c', protocol: 'http/protobuf' }, { OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'grpc' }).protocol).toBe('http/protobuf')
    expect(configError(() => settings({ url: 'http://c' }, { OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'http' })).paths).toEqual(['protocol'])
  })

  it('reads gzip from the compression variables (gzip | none), the option winning; anything else is a ConfigError', () => {
    expect(settings({ url: 'http://c' }).gzip).toBe(false)
    expect(settings({ url: 'http://c' }, { OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip' }).gzip).toBe(true)
    expect(settings({ url: 'http://c' }, { OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip', OTEL_EXPORTER_OTLP_LOGS_COMPRESSION: 'none' }).gzip).toBe(false)
    expect(settings({ url: 'http://c', gzip: false }, { OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip' }).gzip).toBe(false)
    expect(configError(() => settings({ url: 'http://c' }, { OTEL_EXPORTER_OTLP_COMPRESSION: 'brotli' })).paths).toEqual(['gzip'])
  })
})

describe('headers', () => {
  it('reads k=v,k2=v2 percent-decoded and trimmed, skipping entries without a key or value', () => {
    expect(parseKeyValues(' Authorization = Basic%20dXNlcjpwYXNz , x-a=1,=nokey,novalue=, junk ,x-b=a%2Cb%3Dc;d')).toEqual([
      ['Authorization', 'Basic dXNlcjpwYXNz'],
      ['x-a', '1'],
      ['x-b', 'a,b=c;d'],
    ])
    expect(parseKeyValues('bad=%E0%A4%A,good=1')).toEqual([['good', '1']])
  })

  it('merges the general variable, the logs one over it and the option over both, name by name, lower-cased', () => {
    const env = { OTEL_EXPORTER_OTLP_HEADERS: 'X-Tenant=all,X-Team=ops', OTEL_EXPORTER_OTLP_LOGS_HEADERS: 'x-tenant=logs,x-logs=1' }
    expect(settings({ url: 'http://c', headers: { 'X-Team': 'option' } }, env).headers).toEqual({
      'x-tenant': 'logs',
      'x-team': 'option',
      'x-logs': '1',
    })
  })

  it('refuses a header the HTTP client could not send, naming where it came from but not its value', () => {
    const fromEnv = configError(() => settings({ url: 'http://c' }, { OTEL_EXPORTER_OTLP_HEADERS: 'bad name=s3cret' }))
    expect(fromEnv.paths).toEqual(['headers'])
    expect(fromEnv.message).toContain('OTEL_EXPORTER_OTLP_HEADERS')
    const fromOption = configError(() => settings({ url: 'http://c', headers: { 'x-key': 'line\nbreak-s3cret' } }))
    expect(fromOption.paths).toEqual(['headers.x-key'])
    for (const error of [fromEnv, fromOption]) expect(error.message).not.toContain('s3cret')
  })
})

describe('resource', () => {
  it('defaults to the Node SDK’s service.name, the host name and the pid', () => {
    expect(defaultServiceName()).toBe(`unknown_service:${process.argv0}`)
    expect(settings({ url: 'http://c' }).resource).toEqual({ 'service.name': defaultServiceName(), 'host.name': hostname(), 'process.pid': process.pid })
  })

  it('layers OTEL_RESOURCE_ATTRIBUTES, then OTEL_SERVICE_NAME, then the option', () => {
    const env = { OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-attrs, deployment.environment.name = prod ,team=a%2Cb%3Dc,,', OTEL_SERVICE_NAME: 'from-name' }
    expect(resourceFromEnv(env)).toEqual({ 'service.name': 'from-name', 'deployment.environment.name': 'prod', team: 'a,b=c' })
    expect(settings({ url: 'http://c', resource: { team: 'option', replicas: 3 } }, env).resource).toEqual({
      'service.name': 'from-name',
      'host.name': hostname(),
      'process.pid': process.pid,
      'deployment.environment.name': 'prod',
      team: 'option',
      replicas: 3,
    })
    expect(settings({ url: 'http://c', resource: { 'service.name': 'option' } }, env).resource['service.name']).toBe('option')
  })

  it('discards OTEL_RESOURCE_ATTRIBUTES whole when any entry is malformed, as the spec says', () => {
    expect(resourceFromEnv({ OTEL_RESOURCE_ATTRIBUTES: 'a=1,b=2=3' })).toEqual({})
    expect(resourceFromEnv({ OTEL_RESOURCE_ATTRIBUTES: 'a=1,=2' })).toEqual({})
    expect(resourceFromEnv({ OTEL_RESOURCE_ATTRIBUTES: 'a=1,b=%E0%A4%A', OTEL_SERVICE_NAME: 'svc' })).toEqual({ 'service.name': 'svc' })
  })
})

describe('OtlpSender', () => {
  it('reads the environment it is given and shows only the endpoint’s scheme and host', async () => {
    const sender = new OtlpSender({}, {}, undefined, {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'https://user:s3cret@collector.example:4318',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    })
    expect(sender.endpoint).toBe('https://collector.example:4318')
    expect(sender.protocol).toBe('http/json')
    expect(sender.name).toBe('otlp')
    expect(sender.options.pool.concurrency).toBe(8)
    await sender.close()
  })
})
