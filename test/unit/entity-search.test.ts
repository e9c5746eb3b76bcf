import {describe, expect, it} from 'vitest'

import type {PortClient} from '../../src/api/port-client.js'
import type {Entity} from '../../src/model/port.js'
import {entitySearch} from '../../src/services/action-run.js'
import {didYouMean, suggest} from '../../src/shared/suggest.js'

const entities: Entity[] = [
  {identifier: 'cart', properties: {}, relations: {}, title: 'Cart Service'},
  {identifier: 'orders', properties: {}, relations: {}, title: 'Order Service'},
  {identifier: 'PAY-1', properties: {}, relations: {}, title: 'payments'},
]
const client = {
  entities: {
    async *search() {
      yield* entities
    },
  },
} as unknown as PortClient

describe('entity pickers', () => {
  it('match identifiers and titles whatever the case', async () => {
    const search = entitySearch(client)
    const ids = async (term: string) => (await search('service', undefined, term)).map((entity) => entity.identifier)
    expect(await ids('cart')).toEqual(['cart'])
    expect(await ids('CART')).toEqual(['cart'])
    expect(await ids('service')).toEqual(['cart', 'orders'])
    expect(await ids('pay')).toEqual(['PAY-1'])
  })
})

describe('did you mean', () => {
  it('suggests close names, closest first, ignoring case', () => {
    expect(suggest('servce', ['service', 'library', 'website'])).toEqual(['service'])
    expect(suggest('Compnent', ['Component', 'System'])).toEqual(['Component'])
    expect(suggest('xyz', ['service'])).toEqual([])
    expect(didYouMean('postgress', ['postgres', 'mysql'])).toBe(' Did you mean "postgres"?')
    expect(didYouMean('sql', ['mysql', 'postgresql'])).toBe(' Did you mean "mysql" or "postgresql"?')
  })
})
