import {describe, expect, it} from 'vitest'

import {retryAfterMs} from '../../src/api/http.js'
import {redact} from '../../src/api/redact.js'
import type {Blueprint} from '../../src/model/port.js'
import {checkBlueprintRules, checkEntity} from '../../src/domain/entity-rules.js'
import {colorLevel, isCI} from '../../src/io/output.js'
import {generateId, sortableId} from '../../src/portal/ids.js'
import {filtersToQuery} from '../../src/services/entity-filter.js'

const blueprint: Blueprint = {
  identifier: 'svc',
  relations: {deps: {many: true, required: false, target: 'svc'}, owner: {many: false, required: true, target: 'team'}},
  schema: {
    properties: {
      active: {type: 'boolean'},
      meta: {type: 'object'},
      replicas: {type: 'number'},
      tags: {items: {type: 'string'}, type: 'array'},
      type: {type: 'string'},
    },
    required: ['type'],
  },
  title: 'Service',
}

describe('filtersToQuery', () => {
  it('types values by the blueprint schema', () => {
    const query = filtersToQuery(
      ['replicas=3', 'active=true', 'tags=x', 'type=a=b', 'deps=y', 'owner=z', '$title=T', 'meta={"a":1}'],
      blueprint,
    )
    expect(query.rules).toEqual([
      {operator: '=', property: 'replicas', value: 3},
      {operator: '=', property: 'active', value: true},
      {operator: 'contains', property: 'tags', value: 'x'},
      {operator: '=', property: 'type', value: 'a=b'},
      {operator: 'contains', property: 'deps', value: 'y'},
      {operator: '=', property: 'owner', value: 'z'},
      {operator: '=', property: '$title', value: 'T'},
      {operator: '=', property: 'meta', value: {a: 1}},
    ])
  })

  it.each([['replicas=many'], ['active=yes'], ['novalue'], ['=x'], ['meta={']])(
    'rejects %s as a usage error',
    (filter) => {
      expect(() => filtersToQuery([filter], blueprint)).toThrow(expect.objectContaining({exitCode: 2}))
    },
  )
})

describe('checkEntity', () => {
  it('reports every problem with a JSON pointer', () => {
    const issues = checkEntity(
      {identifier: 'a', properties: {replicas: 'x', zzz: 1}, relations: {deps: 'b', nope: 'c'}},
      blueprint,
    )
    expect(issues.map((issue) => `${issue.pointer} ${issue.message}`).sort()).toEqual([
      '/properties/replicas must be number',
      '/properties/type is required',
      '/properties/zzz is not a property of blueprint "svc"',
      '/relations/deps must be an array of entity identifiers (the relation is many)',
      '/relations/nope is not a relation of blueprint "svc"',
      '/relations/owner is required',
    ])
  })

  it('never validates against an older version of the same blueprint', () => {
    const v1: Blueprint = {identifier: 'app', schema: {properties: {size: {type: 'number'}}}, title: 'App'}
    const v2: Blueprint = {identifier: 'app', schema: {properties: {size: {type: 'string'}}}, title: 'App'}
    expect(checkEntity({identifier: 'a', properties: {size: 'big'}}, v1)).toHaveLength(1)
    expect(checkEntity({identifier: 'a', properties: {size: 'big'}}, v2)).toEqual([])
  })

  it('flags blueprint rules JSON Schema cannot express', () => {
    const issues = checkBlueprintRules({
      ...blueprint,
      mirrorProperties: {type: {path: 'owner.name'}},
      schema: {properties: {ttl: {format: 'timer', type: 'number'}}, required: ['missing']},
    })
    expect(issues.map((issue) => issue.pointer)).toEqual(['/schema/required/0', '/schema/properties/ttl/type'])
  })
})

describe('output rules', () => {
  it('NO_COLOR beats FORCE_COLOR; otherwise colour follows the TTY', () => {
    expect(colorLevel({FORCE_COLOR: '1', NO_COLOR: '1'}, true)).toBe(0)
    expect(colorLevel({FORCE_COLOR: '1'}, false)).toBe(1)
    expect(colorLevel({}, true)).toBe(1)
    expect(colorLevel({TERM: 'dumb'}, true)).toBe(0)
    expect(colorLevel({}, false)).toBe(0)
  })

  it('treats CI=false and CI=0 as not CI', () => {
    expect([isCI({CI: 'true'}), isCI({CI: '1'}), isCI({CI: 'false'}), isCI({CI: '0'}), isCI({})]).toEqual([
      true,
      true,
      false,
      false,
      false,
    ])
  })
})

describe('redact', () => {
  it('hides secret-looking fields at any depth', () => {
    expect(redact({a: [{clientSecret: 'x', keep: 1}], accessToken: 't', headers: {Authorization: 'Bearer t'}})).toEqual(
      {
        a: [{clientSecret: '[redacted]', keep: 1}],
        accessToken: '[redacted]',
        headers: {Authorization: '[redacted]'},
      },
    )
  })
})

describe('retryAfterMs', () => {
  it('reads seconds and HTTP dates', () => {
    expect(retryAfterMs('3')).toBe(3000)
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4000)).toBe(6000)
    expect(retryAfterMs('soon')).toBeUndefined()
    expect(retryAfterMs(undefined)).toBeUndefined()
  })
})

describe('schemas/catalog-file.json', () => {
  it('accepts the files the loader accepts and rejects what it rejects', async () => {
    const {schemas} = await import('../../src/schemas/registry.js')
    const ok = (value: unknown) => schemas().validate('idp:catalog-file', value).ok
    expect(ok({identifier: 'Cart', relations: {domain: 'Orders'}})).toBe(true)
    expect(ok([{identifier: 'a'}, {identifier: 'X', schema: {properties: {}}, title: 'X'}])).toBe(true)
    expect(ok({$schema: './catalog-file.json', identifier: 'a', blueprint: 'System'})).toBe(true)
    expect(ok({identifier: 'a', owner: 'me'})).toBe(false)
    expect(ok({identifier: 'X', schema: {properties: {n: {type: 'decimal'}}}, title: 'X'})).toBe(false)
  })
})

describe('schemas/', () => {
  it('every schema is valid against its meta-schema (the registry skips this check at run time)', async () => {
    const {readdirSync, readFileSync} = await import('node:fs')
    const {Ajv} = await import('ajv')
    const {SCHEMAS_DIR} = await import('../../src/schemas/registry.js')
    const ajv = new Ajv({strict: false})
    for (const file of readdirSync(SCHEMAS_DIR)) {
      expect(
        ajv.validateSchema(JSON.parse(readFileSync(SCHEMAS_DIR + file, 'utf8'))),
        `${file}: ${ajv.errorsText()}`,
      ).toBe(true)
    }
  })
})

describe('portal ids', () => {
  it('are a prefix and 16 alphanumerics; sortable ones sort by creation time', () => {
    expect(generateId('e')).toMatch(/^e_[A-Za-z0-9]{16}$/)
    const times = [0, 1, 61, 62, 1_700_000_000_000, 1_700_000_000_001, Date.now()]
    const ids = times.map((time) => sortableId('audit', time))
    for (const id of ids) expect(id).toMatch(/^audit_[A-Za-z0-9]{16}$/)
    expect([...ids].sort()).toEqual(ids)
  })
})
