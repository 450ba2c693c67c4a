import { describe, expect, it } from 'vitest'
import { endpointUrl } from '../../../src/sinks/shared/endpoint.js'

describe('endpointUrl', () => {
  it('adds the standard path to a base URL without a path', () => {
    expect(endpointUrl('http://loki:3100', '/loki/api/v1/push')).toBe('http://loki:3100/loki/api/v1/push')
  })

  it('adds the standard path to a base URL whose path is /', () => {
    expect(endpointUrl('https://es.example.com/', '/_bulk')).toBe('https://es.example.com/_bulk')
  })

  it('keeps any other path as given: a prefix, a proxy path, a trailing slash', () => {
    expect(endpointUrl('http://proxy:8080/loki', '/loki/api/v1/push')).toBe('http://proxy:8080/loki')
    expect(endpointUrl('http://proxy:8080/otel/v1/logs', '/v1/logs')).toBe('http://proxy:8080/otel/v1/logs')
    expect(endpointUrl('http://proxy:8080/prefix/', '/_bulk')).toBe('http://proxy:8080/prefix/')
  })

  it('keeps the query and the credentials, with the standard path added', () => {
    expect(endpointUrl('http://user:p%40ss@loki:3100?tenant=a&x=1', '/loki/api/v1/push')).toBe(
      'http://user:p%40ss@loki:3100/loki/api/v1/push?tenant=a&x=1',
    )
    expect(endpointUrl('https://k@es:9200/custom?pipeline=p', '/_bulk')).toBe('https://k@es:9200/custom?pipeline=p')
  })

  it('keeps the port and the scheme', () => {
    expect(endpointUrl('https://collector:4318', '/v1/logs')).toBe('https://collector:4318/v1/logs')
  })
})
