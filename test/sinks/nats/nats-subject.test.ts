import { describe, expect, it } from 'vitest'
import { LevelMap } from '../../../src/config/levels.js'
import { createRecord } from '../../../src/input/record.js'
import { fallbackProblem, MAX_SUBJECT_VALUE_LENGTH, SubjectTemplate, subjectToken } from '../../../src/sinks/nats/nats-subject.js'
import { RecordFields } from '../../../src/sinks/shared/record-fields.js'

const fields = new RecordFields()

function render(pattern: string, line: string, fallback?: string): string {
  const template = SubjectTemplate.parse(pattern, fallback)
  if (typeof template === 'string') throw new Error(template)
  return template.render(createRecord(line), fields)
}

describe('SubjectTemplate.parse', () => {
  it('takes fixed subjects and templates', () => {
    expect(SubjectTemplate.parse('logs.api')).toMatchObject({ fixed: true, readsFields: false })
    expect(SubjectTemplate.parse('logs.{level}')).toMatchObject({ fixed: false, readsFields: false })
    expect(SubjectTemplate.parse('logs.{service}.{level}')).toMatchObject({ fixed: false, readsFields: true })
    expect(SubjectTemplate.parse('logs.app-{env}')).toMatchObject({ fixed: false })
  })

  it.each([
    ['', 'must not be empty'],
    ['logs..app', 'empty token'],
    ['.logs', 'empty token'],
    ['logs.', 'empty token'],
    ['logs.*', "wildcard token '*'"],
    ['logs.>', "wildcard token '>'"],
    ['logs app', 'whitespace'],
    ['logs.\tapp', 'whitespace'],
    ['logs.\u0001', 'control characters'],
    ['logs.{', "'{' without its '}'"],
    ['logs.}', "'}' without its '{'"],
    ['logs.{}', 'not a field name'],
    ['logs.{a b}', 'not a field name'],
    ['logs.{a{b}', 'not a field name'],
    ['{a}..x', 'empty token'],
  ])('refuses %j (%s)', (pattern, problem) => {
    const parsed = SubjectTemplate.parse(pattern)
    expect(typeof parsed).toBe('string')
    expect(parsed).toContain(problem)
  })
})

describe('SubjectTemplate.render', () => {
  it('fills fields and the level name', () => {
    expect(render('logs.{service}.{level}', '{"level":30,"service":"api"}')).toBe('logs.api.info')
    expect(render('logs.{level}', '{"level":50}')).toBe('logs.error')
    expect(render('logs.{level}', '{"level":35}')).toBe('logs.35')
  })

  it('uses the logger level names it is given', () => {
    const custom = new RecordFields({ levels: new LevelMap({ audit: 35 }) })
    const template = SubjectTemplate.parse('logs.{level}') as SubjectTemplate
    expect(template.render(createRecord('{"level":35}'), custom)).toBe('logs.audit')
  })

  it('reads a top-level key first, else a dotted path into nested objects', () => {
    expect(render('logs.{req.method}', '{"level":30,"req":{"method":"GET"}}')).toBe('logs.GET')
    expect(render('logs.{req.method}', '{"level":30,"req.method":"top","req":{"method":"GET"}}')).toBe('logs.top')
    expect(render('logs.{a.b.c}', '{"level":30,"a":{"b":{"c":7}}}')).toBe('logs.7')
  })

  it('makes values single tokens: whitespace, control characters, ".", "*" and ">" become "_"', () => {
    expect(render('logs.{s}', '{"s":"a b.c*d>e\\tf\\u0001g"}')).toBe('logs.a_b_c_d_e_f_g')
    expect(render('logs.{s}', '{"s":">"}')).toBe('logs._')
    expect(render('logs.{s}', '{"s":"ünïcødé"}')).toBe('logs.ünïcødé')
    expect(render('logs.{s}', '{"s":true}')).toBe('logs.true')
  })

  it(`cuts values at ${MAX_SUBJECT_VALUE_LENGTH} characters`, () => {
    expect(render('logs.{s}', `{"s":"${'x'.repeat(1000)}"}`)).toBe(`logs.${'x'.repeat(MAX_SUBJECT_VALUE_LENGTH)}`)
  })

  it('gives the fallback for a missing, empty, null, object or non-finite value, and for a line that is not JSON', () => {
    for (const line of ['{"level":30}', '{"s":""}', '{"s":null}', '{"s":{"a":1}}', '{"s":[1]}']) {
      expect(render('logs.{s}.x', line)).toBe('logs.unknown.x')
    }
    expect(render('logs.{s}', '{"level":30}', 'none')).toBe('logs.none')
    expect(render('logs.{a}{b}', '{"a":"x"}')).toBe('logs.xunknown')
    expect(render('logs.{s}', '{"s":1e999}')).toBe('logs.unknown')
  })

  it('does not parse the line for a fixed subject or for {level} alone', () => {
    const template = SubjectTemplate.parse('logs.{level}') as SubjectTemplate
    const record = createRecord('{"level":40,"broken":')
    expect(template.render(record, fields)).toMatch(/^logs\./)
  })
})

describe('subjectToken and the fallback', () => {
  it('subjectToken', () => {
    expect(subjectToken('a.b c')).toBe('a_b_c')
    expect(subjectToken('')).toBe('')
  })

  it('a fallback must be one valid token', () => {
    expect(fallbackProblem('unknown')).toBeUndefined()
    expect(fallbackProblem('')).toBe('must not be empty')
    expect(fallbackProblem('a.b')).toContain('not a subject token')
    expect(fallbackProblem('*')).toContain('not a subject token')
  })
})
