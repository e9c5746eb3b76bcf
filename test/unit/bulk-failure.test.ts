import {describe, expect, it} from 'vitest'

import {bulkFailure} from '../../src/services/entity-upsert.js'

const written = [{created: true, identifier: 'a', index: 0}]
const failed = (status: number) => ({error: 'x', identifier: 'b', index: 1, message: 'no', status})

describe('a bulk upsert where some items failed', () => {
  it('exits 4 when the portal refused any for lack of permission: running it again cannot help', () => {
    expect(bulkFailure({entities: written, errors: [failed(422), failed(403)]}).exitCode).toBe(4)
  })

  it('exits 8 when others were written and a rerun may help, else with the items own code', () => {
    expect(bulkFailure({entities: written, errors: [failed(503)]}).exitCode).toBe(8)
    expect(bulkFailure({entities: [], errors: [failed(422)]}).exitCode).toBe(3)
  })
})
