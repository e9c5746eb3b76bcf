import type {Route} from '../http/router.js'
import {body, ok, type RouteKit} from './kit.js'

/** Actions and automations, their permissions, and starting runs. */
export function actionRoutes(kit: RouteKit): Route[] {
  const {actions, audit, core, runAudit, runs, write} = kit
  return [
    {
      auth: 'member',
      handler: async (request) => ok({actions: await actions.list(request.query)}),
      method: 'GET',
      pattern: '/v1/actions',
    },
    {
      auth: 'admin',
      handler: async (request) =>
        ok(
          {action: await write(() => actions.create(body(request, 'idp:action', 'Invalid action'), audit(request)))},
          201,
        ),
      method: 'POST',
      pattern: '/v1/actions',
    },
    {
      auth: 'member',
      handler: async (request) => ok({action: await actions.get(request.params.id!)}),
      method: 'GET',
      pattern: '/v1/actions/:id',
    },
    {
      auth: 'admin',
      handler: async (request) =>
        ok({
          action: await write(() =>
            actions.replace(
              request.params.id!,
              body(request, 'idp:action', 'Invalid action', {identifier: request.params.id!}),
              audit(request),
            ),
          ),
        }),
      method: 'PUT',
      pattern: '/v1/actions/:id',
    },
    {
      auth: 'admin',
      handler: async (request) => {
        await write(() => actions.delete(request.params.id!, audit(request)))
        return ok({})
      },
      method: 'DELETE',
      pattern: '/v1/actions/:id',
    },
    {
      auth: 'member',
      handler: async (request) => {
        const {identifier} = await actions.get(request.params.id!)
        return ok({permissions: await core.permissions.get(identifier)})
      },
      method: 'GET',
      pattern: '/v1/actions/:id/permissions',
    },
    {
      auth: 'admin',
      handler: async (request) => {
        const changes = body(request, 'idp:api-requests#/$defs/actionPermissions', 'Invalid permissions')
        const permissions = await write(async () => {
          const {identifier} = await actions.get(request.params.id!)
          return core.permissions.update(identifier, changes)
        })
        return ok({permissions})
      },
      method: 'PATCH',
      pattern: '/v1/actions/:id/permissions',
    },
    {
      auth: 'member',
      handler: async (request) => {
        const input = body(request, 'idp:api-requests#/$defs/runCreate', 'Invalid run')
        const action = await actions.get(request.params.id!)
        // jq (inputs, permissions) runs before the write, so it never holds the write lock.
        const prepared = await runs.prepare(action, input, runAudit(request))
        return ok({run: await write(() => runs.commit(prepared))}, 202)
      },
      method: 'POST',
      pattern: '/v1/actions/:id/runs',
    },
  ]
}
