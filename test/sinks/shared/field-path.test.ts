import { describe, expect, it } from 'vitest'
import { fieldPath, fieldValue } from '../../../src/sinks/shared/field-path.js'

describe('fieldValue', () => {
  const record = { tenant: 'a', 'req.id': 'dotted', req: { id: 'nested', method: 'GET' }, n: 0, f: false, nil: null }

  it('reads a top-level key named exactly by the path first, else the dotted path', () => {
    expect(fieldValue(record, fieldPath('tenant'))).toBe('a')
    expect(fieldValue(record, fieldPath('req.id'))).toBe('dotted')
    expect(fieldValue(record, fieldPath('req.method'))).toBe('GET')
    expect(fieldValue({ req: { id: 'nested' } }, fieldPath('req.id'))).toBe('nested')
  })

  it('keeps falsy values and null, and gives undefined for what is missing', () => {
    expect(fieldValue(record, fieldPath('n'))).toBe(0)
    expect(fieldValue(record, fieldPath('f'))).toBe(false)
    expect(fieldValue(record, fieldPath('nil'))).toBeNull()
    expect(fieldValue(record, fieldPath('missing'))).toBeUndefined()
    expect(fieldValue(record, fieldPath('tenant.x'))).toBeUndefined()
    expect(fieldValue(record, fieldPath('nil.x'))).toBeUndefined()
  })

  it('reads only a record’s own keys, never its prototype’s', () => {
    expect(fieldValue(record, fieldPath('constructor'))).toBeUndefined()
    expect(fieldValue(record, fieldPath('req.toString'))).toBeUndefined()
    expect(fieldValue(JSON.parse('{"constructor":"own"}') as Record<string, unknown>, fieldPath('constructor'))).toBe('own')
  })
})
