import {PortalError} from '../http/errors.js'
import type {Route} from '../http/router.js'
import {ok, type RouteKit} from './kit.js'

/**
 * What load balancers and orchestrators ask. Public, as they hold no token: the answers say only
 * whether the process is up and whether its database answers, nothing of the portal's data.
 */
export function healthRoutes(kit: RouteKit): Route[] {
  const {store} = kit
  return [
    {
      auth: 'public',
      handler: async () => ok({status: 'up'}),
      method: 'GET',
      pattern: '/healthz',
      unlimited: true,
    },
    {
      auth: 'public',
      handler: async () => {
        // The cheapest read every store answers from its database.
        await store.countCredentials().catch(() => {
          throw new PortalError(503, 'database_unavailable', "The portal's database does not answer")
        })
        return ok({status: 'ready'})
      },
      method: 'GET',
      pattern: '/readyz',
      unlimited: true,
    },
  ]
}
