import {randomBytes} from 'node:crypto'

import {expect, it} from 'vitest'

import {TokenIssuer} from '../../src/portal/auth/tokens.js'

const issuer = new TokenIssuer(randomBytes(32))

it('verifies the tokens it signed until they expire, and returns the live one when asked again', () => {
  const {token} = issuer.issue({clientId: 'c1', expiresAt: 100_000}, 0)
  expect(issuer.verify(token, 5_000)).toEqual({clientId: 'c1', expiresAt: 100_000, runId: undefined})
  expect(issuer.verify(token, 100_000)).toBeUndefined()
  // The same token while it has more than a minute left, a new one after.
  expect(issuer.issue({clientId: 'c1', expiresAt: 200_000}, 1_000).token).toBe(token)
  expect(issuer.issue({clientId: 'c1', expiresAt: 200_000}, 50_000).token).not.toBe(token)
})

it('refuses a tampered token, another portal’s token and garbage', () => {
  const {token} = issuer.issue({clientId: 'c2', expiresAt: 10_000, runId: 'r_1'}, 0)
  expect(issuer.verify(token, 0)).toMatchObject({runId: 'r_1'})
  const [head, signature] = token.split('.') as [string, string]
  const forged = Buffer.from(JSON.stringify({c: 'admin', e: 10_000})).toString('base64url')
  expect(issuer.verify(`idp_${forged}.${signature}`, 0)).toBeUndefined()
  expect(issuer.verify(`${head}.${signature.slice(1)}x`, 0)).toBeUndefined()
  expect(new TokenIssuer(randomBytes(32)).verify(token, 0)).toBeUndefined()
  for (const junk of ['', 'idp_', 'idp_.', 'Bearer x', 'idp_a.b.c']) expect(issuer.verify(junk, 0)).toBeUndefined()
})
