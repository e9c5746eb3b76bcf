import type {Route} from '../http/router.js'
import {body, ok, type RouteKit} from './kit.js'

/** Credentials (an idp extension; Port manages credentials in its UI): admins only. */
export function credentialRoutes(kit: RouteKit): Route[] {
  const {core, write} = kit
  return [
    {
      auth: 'admin',
      handler: async () => ok({credentials: await core.credentials.list()}),
      method: 'GET',
      pattern: '/v1/idp/credentials',
    },
    {
      auth: 'admin',
      handler: async (request) => {
        const options = body(request, 'idp:api-requests#/$defs/credentialCreate', 'Invalid credential')
        return ok({credential: await write(() => core.credentials.create(options))}, 201)
      },
      method: 'POST',
      pattern: '/v1/idp/credentials',
    },
    {
      auth: 'admin',
      handler: async (request) => {
        await write(() => core.credentials.revoke(request.params.client!))
        return ok({})
      },
      method: 'DELETE',
      pattern: '/v1/idp/credentials/:client',
    },
  ]
}
