import {generateKeyPairSync, privateDecrypt, constants, createDecipheriv} from 'node:crypto'

import {afterAll, describe, expect, it} from 'vitest'

import type {Action, Entity} from '../../src/model/port.js'
import {coerceInput, inputOrder} from '../../src/domain/action-inputs.js'
import type {UserInputs} from '../../src/model/inputs.js'
import {decryptSecret, encryptClientSide, encryptSecret} from '../../src/domain/secret-inputs.js'
import {parseDuration, parseWhen} from '../../src/shared/when.js'
import {InlineJq} from '../../src/jq/engine.js'
import {fillForm} from '../../src/services/action-form.js'
import {equivalentCommand} from '../../src/services/action-run.js'
import {scriptedPrompter} from '../helpers/fake-prompter.js'

const jq = new InlineJq()
afterAll(() => jq.close())
const NOW = new Date('2026-11-27T12:00:00.000Z')

const services: Entity[] = [
  {identifier: 'cart', properties: {}, relations: {}, title: 'Cart service'},
  {identifier: 'orders', properties: {}, relations: {}, title: 'Orders'},
]

function action(userInputs: UserInputs): Action {
  return {
    identifier: 'everything',
    invocationMethod: {type: 'WEBHOOK', url: 'x'},
    trigger: {operation: 'CREATE', type: 'self-service', userInputs},
  }
}

const form = (
  userInputs: UserInputs,
  script: Parameters<typeof scriptedPrompter>[0] | undefined,
  given: Record<string, unknown> = {},
  entity?: Entity,
) => {
  const scripted = script ? scriptedPrompter(script) : undefined
  const searched: unknown[] = []
  const result = fillForm({
    action: action(userInputs),
    entity,
    given,
    jq,
    clock: () => NOW,
    prompter: scripted?.prompter,
    searchEntities: async (blueprint, dataset, term) => {
      searched.push({blueprint, dataset, term})
      return services.filter((entity) => !term || entity.identifier.includes(term))
    },
    user: {email: 'dev@example.com', teamsIdentifiers: ['team-a']},
  })
  return {result, scripted, searched}
}

describe('fillForm asks one prompt per input type', () => {
  const every: UserInputs = {
    order: [
      'name',
      'when',
      'site',
      'mail',
      'ip',
      'notes',
      'replicas',
      'cores',
      'public',
      'size',
      'tags',
      'labels',
      'config',
      'service',
      'deps',
      'owner',
      'team',
      'token',
    ],
    properties: {
      cores: {maximum: 8, minimum: 1, type: 'integer'},
      config: {type: 'object'},
      deps: {items: {blueprint: 'service', format: 'entity', type: 'string'}, type: 'array'},
      ip: {format: 'ipv4', type: 'string'},
      labels: {items: {type: 'string'}, maxItems: 3, type: 'array'},
      mail: {format: 'email', type: 'string'},
      name: {title: 'Name', type: 'string'},
      notes: {format: 'multi-line', type: 'string'},
      owner: {format: 'user', type: 'string'},
      public: {default: true, type: 'boolean'},
      replicas: {maximum: 5, minimum: 1, type: 'number'},
      service: {
        blueprint: 'service',
        dataset: {
          combinator: 'and',
          rules: [{operator: 'containsAny', property: '$team', value: {jqQuery: '.user.teamsIdentifiers'}}],
        },
        format: 'entity',
        type: 'string',
      },
      site: {format: 'url', type: 'string'},
      size: {enum: ['small', 'large'], enumColors: {large: 'red', small: 'green'}, type: 'string'},
      tags: {items: {enum: ['a', 'b', 'c'], type: 'string'}, type: 'array'},
      team: {format: 'team', type: 'string'},
      token: {encryption: 'aes256-gcm', type: 'string'},
      when: {format: 'date-time', type: 'string'},
    },
    required: ['name', 'service'],
  }

  it('answers every type and returns typed values', async () => {
    const {result, scripted, searched} = form(every, [
      ['input', 'my-env'],
      ['input', '5 days'],
      ['input', 'https://env.example.com'],
      ['input', 'dev@example.com'],
      ['input', '10.0.0.1'],
      ['editor', 'line 1\nline 2'],
      ['number', 3],
      ['number', 4],
      ['confirm', false],
      ['select', 'large'],
      ['checkbox', ['a', 'c']],
      ['input', 'x, y'],
      ['input', '{"debug": true}'],
      ['search', (_q: unknown, choices: {value: string}[]) => choices.find((c) => c.value === 'cart')!.value],
      ['checkbox', ['orders']],
      ['input', 'dev@example.com'],
      ['input', 'platform'],
      ['password', 's3cret'],
    ])
    const {asked, issues, missing, values} = await result
    expect(issues).toEqual([])
    expect(missing).toEqual([])
    expect(values).toEqual({
      config: {debug: true},
      cores: 4,
      deps: ['orders'],
      ip: '10.0.0.1',
      labels: ['x', 'y'],
      mail: 'dev@example.com',
      name: 'my-env',
      notes: 'line 1\nline 2',
      owner: 'dev@example.com',
      public: false,
      replicas: 3,
      service: 'cart',
      site: 'https://env.example.com',
      size: 'large',
      tags: ['a', 'c'],
      team: 'platform',
      token: 's3cret',
      when: '2026-12-02T12:00:00.000Z',
    })
    expect(asked).toHaveLength(18)
    expect(scripted!.left()).toBe(0)
    const kinds = scripted!.asked.map((question) => question.kind)
    expect(kinds).toContain('password')
    const service = scripted!.asked.find((question) => question.message.startsWith('service'))!
    expect(service.message).toBe('service (type to search service)')
    expect(searched).toContainEqual({
      blueprint: 'service',
      dataset: {combinator: 'and', rules: [{operator: 'containsAny', property: '$team', value: ['team-a']}]},
      term: undefined,
    })
    const size = scripted!.asked.find((question) => question.kind === 'select')!
    expect(size.choices!.map((choice) => choice.value)).toEqual([undefined, 'small', 'large'])
  })

  it('rejects answers that break the input’s rules', async () => {
    const {result} = form({properties: {ip: {format: 'ipv4', type: 'string'}}, required: ['ip']}, [
      ['input', 'not-an-ip'],
    ])
    await expect(result).rejects.toThrow('must be a valid ipv4')
  })
})

describe('fillForm: defaults, jqQuery, order and flags', () => {
  const dynamic: UserInputs = {
    properties: {
      env: {enum: ['dev', 'prod'], type: 'string'},
      approver: {dependsOn: ['env'], type: 'string', visible: {jqQuery: '.form.env == "prod"'}},
      region: {default: {jqQuery: 'if .form.env == "prod" then "eu-west-1" else "local" end'}, type: 'string'},
      size: {default: 'small', disabled: {jqQuery: '.form.env == "dev"'}, type: 'string'},
      owner: {default: {jqQuery: '.user.email'}, type: 'string'},
      ttl: {default: {jqQuery: 'now + 86400 | todate'}, format: 'date-time', type: 'string'},
    },
    order: ['approver', 'region', 'size', 'owner', 'ttl', 'env'],
    required: {jqQuery: 'if .form.env == "prod" then ["env", "approver"] else ["env"] end'},
  }

  it('orders inputs after what they depend on', () => {
    expect(inputOrder(dynamic)).toEqual(['env', 'approver', 'region', 'size', 'owner', 'ttl'])
  })

  it('without a prompter: flags, then jq defaults; hidden and disabled inputs are not asked', async () => {
    const {result} = form(dynamic, undefined, {env: 'dev'})
    const {missing, values} = await result
    expect(missing).toEqual([])
    expect(values).toMatchObject({env: 'dev', owner: 'dev@example.com', region: 'local', size: 'small'})
    expect(values.approver).toBeUndefined()
    expect(typeof values.ttl).toBe('string')
  })

  it('reports the form’s state: hidden and required inputs, and the defaults of those not given', async () => {
    const dev = await form(dynamic, undefined, {env: 'dev', owner: 'me'}).result
    expect(dev.hidden).toEqual(['approver'])
    expect(dev.required).toEqual(['env'])
    expect(dev.defaults).toMatchObject({region: 'local', size: 'small'})
    expect(Object.keys(dev.defaults).sort()).toEqual(['region', 'size', 'ttl'])
    const prod = await form(dynamic, undefined, {approver: 'alice', env: 'prod'}).result
    expect(prod.hidden).toEqual([])
    expect(prod.required).toEqual(['env', 'approver'])
    expect(prod.defaults).toMatchObject({owner: 'dev@example.com', region: 'eu-west-1'})
  })

  it('with validate false, checks nothing and searches no entity', async () => {
    const inputs: UserInputs = {
      properties: {n: {maximum: 5, type: 'number'}, svc: {blueprint: 'service', format: 'entity', type: 'string'}},
    }
    const checked = form(inputs, undefined, {n: 3, svc: 'nope'})
    expect((await checked.result).issues).toHaveLength(1)
    expect(checked.searched).not.toEqual([])
    const unchecked = fillForm({
      action: action(inputs),
      clock: () => NOW,
      given: {n: 9, svc: 'nope'},
      jq,
      searchEntities: () => Promise.reject(new Error('searched')),
      user: {},
      validate: false,
    })
    expect((await unchecked).issues).toEqual([])
  })

  it('reports required inputs that nothing supplied, including jq-required ones', async () => {
    expect((await form(dynamic, undefined, {}).result).missing.map((m) => m.name)).toEqual(['env'])
    expect((await form(dynamic, undefined, {env: 'prod'}).result).missing.map((m) => m.name)).toEqual(['approver'])
  })

  it('with a prompter: asks visible inputs in order, skipping disabled ones, defaults offered', async () => {
    const {result, scripted} = form(dynamic, [
      ['select', 'prod'],
      ['input', 'alice'],
      ['input', (question: {default?: string}) => question.default],
      ['input', 'large'],
      ['input', (question: {default?: string}) => question.default],
      ['input', ''],
    ])
    const {values} = await result
    expect(values).toMatchObject({
      approver: 'alice',
      env: 'prod',
      owner: 'dev@example.com',
      region: 'eu-west-1',
      size: 'large',
    })
    expect(scripted!.asked.map((question) => question.message.split(' ')[0])).toEqual([
      'env',
      'approver',
      'region',
      'size',
      'owner',
      'ttl',
    ])
  })

  it('offers the target entity to jq', async () => {
    const inputs: UserInputs = {properties: {days: {default: {jqQuery: '.entity.properties.days + 3'}, type: 'number'}}}
    const {values} = await form(inputs, undefined, {}, {identifier: 'env-1', properties: {days: 5}, relations: {}})
      .result
    expect(values.days).toBe(8)
  })

  it('reports bad flag values as issues naming the input', async () => {
    const {issues} = await form({properties: {n: {maximum: 5, type: 'number'}}}, undefined, {n: 9}).result
    expect(issues).toEqual([{input: 'n', message: 'must be <= 5'}])
  })
})

describe('coerceInput', () => {
  it.each([
    [{type: 'number'}, '2.5', 2.5],
    [{type: 'integer'}, '3', 3],
    [{type: 'boolean'}, 'yes', true],
    [{type: 'boolean'}, 'false', false],
    [{type: 'object'}, '{"a":1}', {a: 1}],
    [{type: 'array'}, 'a, b', ['a', 'b']],
    [{items: {type: 'number'}, type: 'array'}, '1,2', [1, 2]],
    [{type: 'array'}, '["x"]', ['x']],
    [{format: 'date-time', type: 'string'}, '5d', '2026-12-02T12:00:00.000Z'],
    [{format: 'date-time', type: 'string'}, 'in 2 weeks', '2026-12-11T12:00:00.000Z'],
    [{format: 'date-time', type: 'string'}, '2027-01-01T00:00:00Z', '2027-01-01T00:00:00.000Z'],
    [{type: 'string'}, ' keep spaces ', ' keep spaces '],
  ] as const)('%j %s', (input, raw, expected) => {
    expect(coerceInput(input as never, raw, NOW)).toEqual(expected)
  })

  it.each([
    [{type: 'number'}, 'many', 'expects a number'],
    [{type: 'integer'}, '1.5', 'expects a whole number'],
    [{type: 'boolean'}, 'maybe', 'expects true or false'],
    [{type: 'object'}, '[1]', 'expects a JSON object'],
    [{format: 'date-time', type: 'string'}, 'someday', 'expects a time'],
  ] as const)('rejects %j %s', (input, raw, message) => {
    expect(() => coerceInput(input as never, raw, NOW)).toThrow(message)
  })
})

describe('durations', () => {
  it.each([
    ['5d', 5 * 86_400_000],
    ['5 days', 5 * 86_400_000],
    ['1h30m', 90 * 60_000],
    ['2 weeks', 14 * 86_400_000],
    ['90s', 90_000],
    ['1.5h', 90 * 60_000],
    ['100ms', 100],
    ['2 minutes', 120_000],
  ])('%s', (text, ms) => expect(parseDuration(text)).toBe(ms))

  it('reads times people type', () => {
    expect(parseWhen('in 3 days', NOW)?.toISOString()).toBe('2026-11-30T12:00:00.000Z')
    expect(parseWhen('+36h', NOW)?.toISOString()).toBe('2026-11-29T00:00:00.000Z')
    expect(parseWhen('tomorrow', NOW)?.toISOString()).toBe('2026-11-28T12:00:00.000Z')
    expect(parseWhen('2027-02-03', NOW)?.toISOString()).toBe('2027-02-03T00:00:00.000Z')
    expect(parseWhen('5 parsecs', NOW)).toBeUndefined()
    expect(parseDuration('5')).toBeUndefined()
  })
})

describe('secrets', () => {
  it('encrypts as Port does (AES-256-GCM keyed by the client secret) and decrypts', () => {
    const secret = 'a'.repeat(40)
    const sealed = encryptSecret('hunter2', secret)
    expect(Buffer.from(sealed, 'base64').length).toBe(16 + 7 + 16)
    expect(decryptSecret(sealed, secret)).toBe('hunter2')
    expect(decryptSecret(sealed, 'b'.repeat(40))).toBeUndefined()
  })

  it('encrypts client-side secrets for the action’s RSA key', () => {
    const {privateKey, publicKey} = generateKeyPairSync('rsa', {modulusLength: 2048})
    const data = Buffer.from(
      encryptClientSide('top secret', publicKey.export({format: 'pem', type: 'spki'}).toString()),
      'base64',
    )
    const key = privateDecrypt(
      {key: privateKey, oaepHash: 'sha256', padding: constants.RSA_PKCS1_OAEP_PADDING},
      data.subarray(12, 268),
    )
    const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, 12))
    decipher.setAuthTag(data.subarray(data.length - 16))
    expect(Buffer.concat([decipher.update(data.subarray(268, data.length - 16)), decipher.final()]).toString()).toBe(
      'top secret',
    )
  })

  it('repeats what the user typed for date-times rather than a timestamp that drifts', () => {
    const result = equivalentCommand(
      action({properties: {ttl: {format: 'date-time', type: 'string'}}}),
      undefined,
      {ttl: '2026-12-05T12:00:00.000Z'},
      {ttl: '5 days'},
    )
    expect(result.command).toBe(`idp action run everything --input 'ttl=5 days'`)
  })

  it('leaves secrets out of the equivalent command and quotes the rest', () => {
    const result = equivalentCommand(
      action({
        properties: {name: {type: 'string'}, note: {type: 'string'}, token: {encryption: 'aes256-gcm', type: 'string'}},
      }),
      undefined,
      {name: 'dev', note: "it's fine", token: 'x'},
    )
    expect(result).toEqual({
      command: `idp action run everything --input name=dev --input 'note=it'\\''s fine'`,
      omitted: ['token'],
    })
  })
})
