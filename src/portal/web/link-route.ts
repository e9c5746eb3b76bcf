import type {Route} from '../http/router.js'
import {ok} from '../routes/kit.js'
import type {WebSessions} from './sessions.js'

/**
 * `idp portal open` asks here for a one-time link that signs a browser in as the caller. Any
 * credential may ask for itself (a run's token may not): the browser gets what that credential
 * may do through the same routes, nothing more.
 */
export const webLinkRoute = (sessions: WebSessions): Route => ({
  auth: 'member',
  handler: async (request) => {
    const {code, expiresAt} = await sessions.link(request.caller.clientId)
    return ok({expiresAt: new Date(expiresAt).toISOString(), path: `/sign-in/link?code=${code}`}, 201)
  },
  method: 'POST',
  pattern: '/v1/idp/web-links',
})
