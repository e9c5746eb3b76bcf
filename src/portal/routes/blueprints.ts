import {booleanParam} from '../http/params.js'
import type {RequestContext, Route} from '../http/router.js'
import {breathe} from '../../shared/breathe.js'
import {entityOf, EVERY} from '../catalog/paging.js'
import {body, ok, type RouteKit} from './kit.js'

/** Blueprints: the data model, which only admins change (as in Port). */
export function blueprintRoutes(kit: RouteKit): Route[] {
  const {audit, blueprints, entities, store, write} = kit
  return [
    {
      auth: 'member',
      handler: async () => ok({blueprints: await store.listBlueprints()}),
      method: 'GET',
      pattern: '/v1/blueprints',
    },
    {
      auth: 'admin',
      handler: async (request) =>
        ok({blueprint: await write(() => blueprints.create(blueprintBody(request), audit(request)))}, 201),
      method: 'POST',
      pattern: '/v1/blueprints',
    },
    {
      auth: 'member',
      handler: async (request) => ok({blueprint: await blueprints.get(request.params.bp!)}),
      method: 'GET',
      pattern: '/v1/blueprints/:bp',
    },
    {
      auth: 'admin',
      handler: async (request) =>
        ok({
          blueprint: await write(() =>
            blueprints.replace(request.params.bp!, blueprintBody(request, request.params.bp!), audit(request)),
          ),
        }),
      method: 'PUT',
      pattern: '/v1/blueprints/:bp',
    },
    {
      auth: 'admin',
      handler: async (request) =>
        ok({
          blueprint: await write(() =>
            blueprints.patch(
              request.params.bp!,
              body(request, 'idp:api-requests#/$defs/blueprintPatch', 'Invalid blueprint'),
              audit(request),
            ),
          ),
        }),
      method: 'PATCH',
      pattern: '/v1/blueprints/:bp',
    },
    {
      auth: 'admin',
      handler: async (request) => {
        await write(() => blueprints.delete(request.params.bp!, audit(request)))
        return ok({})
      },
      method: 'DELETE',
      pattern: '/v1/blueprints/:bp',
    },
    {
      auth: 'member',
      handler: async (request) => {
        const {identifier} = await blueprints.get(request.params.bp!)
        return ok({count: await store.countEntities(identifier)})
      },
      method: 'GET',
      pattern: '/v1/blueprints/:bp/entities-count',
    },
    {
      auth: 'admin',
      handler: async (request) => {
        const {identifier: bp} = await blueprints.get(request.params.bp!)
        const deleteBlueprint = booleanParam(request.query, 'delete_blueprint')
        // In batches, each its own write, so other requests get through between them; a batch
        // that fails leaves the earlier ones done, and a retry finishes the job.
        for (;;) {
          const batch = await store.searchEntities({blueprint: bp, filter: EVERY.filter, limit: 200})
          if (batch.length === 0) break
          await write(async () => {
            // A cascade may have taken some of the batch already.
            await entities.delete(
              bp,
              batch.map((row) => entityOf(row).identifier),
              {...audit(request), deleteDependents: true, ignoreMissing: true},
            )
          })
          await breathe()
        }
        if (deleteBlueprint) await write(() => blueprints.delete(bp, audit(request)))
        return ok({})
      },
      method: 'DELETE',
      pattern: '/v1/blueprints/:bp/all-entities',
    },
  ]
}

/** A blueprint body; PUT takes the identifier from the path when the body leaves it out. */
const blueprintBody = (request: RequestContext, identifier?: string) =>
  body(request, 'idp:blueprint', 'Invalid blueprint', identifier === undefined ? {} : {identifier})
