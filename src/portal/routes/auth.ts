import {timingSafeEqual} from 'node:crypto'

import {PortalError} from '../http/errors.js'
import type {Route} from '../http/router.js'
import {body, ok, type RouteKit} from './kit.js'

/** The token route: the only one anonymous callers may use. */
export function authRoutes(kit: RouteKit): Route[] {
  const {core, store} = kit
  return [
    {
      auth: 'public',
      handler: async (request) => {
        const {clientId, clientSecret} = body(request, 'idp:api-requests#/$defs/accessToken', 'Invalid token request')
        const credential = await store.getCredential(clientId)
        if (!credential || !sameSecret(credential.clientSecret, clientSecret)) {
          throw new PortalError(401, 'invalid_credentials', 'Invalid credentials supplied to the generate token API')
        }
        const now = request.now.getTime()
        const token = await core.token(clientId)
        const expiresIn = Math.floor((token.expiresAt - now) / 1000)
        return ok({accessToken: token.token, expiresIn, tokenType: 'Bearer'})
      },
      method: 'POST',
      pattern: '/v1/auth/access_token',
    },
  ]
}

function sameSecret(expected: string, given: string): boolean {
  const a = Buffer.from(expected)
  const b = Buffer.from(given)
  return a.length === b.length && timingSafeEqual(a, b)
}
