import type {PortalCore} from '../core.js'
import type {Route} from '../http/router.js'
import {actionRoutes} from './actions.js'
import {agentQueueRoutes} from './agent-queue.js'
import {auditRoutes} from './audit.js'
import {authRoutes} from './auth.js'
import {blueprintRoutes} from './blueprints.js'
import {credentialRoutes} from './credentials.js'
import {entityRoutes} from './entities.js'
import {healthRoutes} from './health.js'
import {routeKit} from './kit.js'
import {organizationRoutes} from './organization.js'
import {runRoutes} from './runs.js'
import {searchRoutes} from './search.js'
import {webLinkRoute} from '../web/link-route.js'
import {WebSessions} from '../web/sessions.js'

/**
 * Every route of the portal, one module per resource, each route with its access rule
 * (auth/access.ts) beside it. The router matches by specificity, so the order here does not matter.
 */
export function routes(core: PortalCore): Route[] {
  const kit = routeKit(core)
  return [
    ...authRoutes(kit),
    ...credentialRoutes(kit),
    ...blueprintRoutes(kit),
    ...entityRoutes(kit),
    ...searchRoutes(kit),
    ...actionRoutes(kit),
    ...runRoutes(kit),
    ...agentQueueRoutes(kit),
    ...organizationRoutes(kit),
    ...auditRoutes(kit),
    ...healthRoutes(kit),
    webLinkRoute(new WebSessions(core.store, core.clock)),
  ]
}
