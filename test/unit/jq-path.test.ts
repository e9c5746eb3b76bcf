import {loadJq} from 'jq-wasm'
import {expect, it} from 'vitest'

import {plainPath} from '../../src/jq/engine.js'

const inputs: unknown[] = [
  {event: {context: {entityIdentifier: 'env-1'}, diff: null}, n: 0, list: [1], text: 'x', empty: {}},
  {a: {b: {c: [1, {d: 2}]}}, __proto__x: 1, constructor: 'own'},
  JSON.parse('{"__proto__": {"polluted": true}, "a": null}'),
  null,
  'a string',
  [1, 2],
  42,
]
const expressions = [
  '.event.context.entityIdentifier',
  ' .event.diff.before ',
  '.missing.deeper.still',
  '.n',
  '.list',
  '.list.x',
  '.text.length',
  '.empty.a',
  '.a.b.c',
  '.__proto__',
  '.__proto__.polluted',
  '.constructor',
  '.toString',
  '.hasOwnProperty',
  '.and',
  '.a',
  '.a_1.b2',
]

it('reads .a.b paths exactly as jq does, and leaves to jq whatever jq would fail on', async () => {
  const jq = await loadJq()
  let taken = 0
  for (const input of inputs) {
    for (const expression of expressions) {
      let expected: {value: unknown} | {error: true}
      try {
        expected = {value: jq.first(JSON.stringify(input), expression) ?? null}
      } catch {
        expected = {error: true}
      }
      const fast = plainPath(expression, input)
      if (!fast) continue
      taken++
      expect({expression, input, ...fast}).toEqual({expression, input, ...expected})
    }
  }
  expect(taken).toBeGreaterThan(60)
  for (const other of ['.', '.a[0]', '.a | .b', '."a"', '.a?', '.[0]', '$ENV.x', '.a.b // 1', 'env.HOME'])
    expect(plainPath(other, {a: {b: 1}})).toBeUndefined()
})
