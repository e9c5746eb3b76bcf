import {mayWriteEntities} from '../auth/access.js'
import {booleanParam} from '../http/params.js'
import {invalid, PortalError} from '../http/errors.js'
import {JsonTexts} from '../http/reply.js'
import type {RequestContext, Route} from '../http/router.js'
import {toWire} from '../catalog/wire.js'
import {body, MAX_UNPAGED, ok, tooMany, type RouteKit} from './kit.js'

/** Entities: members read and write them; ownership records are admins' (auth/access.ts). */
export function entityRoutes(kit: RouteKit): Route[] {
  const {audit, blueprints, entities, scans, store, textView, view, write, writeMode, writeOptions} = kit
  return [
    {
      auth: 'member',
      handler: async (request) => {
        const {identifier} = await blueprints.get(request.params.bp!)
        const shown = textView(request)
        const answer = new JsonTexts()
        for await (const page of scans.pages({blueprint: identifier})) {
          answer.add(page.map(shown))
          if (answer.length > MAX_UNPAGED) throw tooMany(`Blueprint "${identifier}" has`)
        }
        return ok({entities: answer})
      },
      method: 'GET',
      pattern: '/v1/blueprints/:bp/entities',
    },
    {
      auth: 'run',
      handler: async (request) => {
        const mode = writeMode(request)
        const input = body(request, 'idp:entity', 'Invalid entity')
        const result = await write(async () => {
          const blueprint = await entities.blueprint(request.params.bp!)
          mayWriteEntities(request.principal, blueprint.identifier)
          return entities.write(blueprint, input, writeOptions(request, mode))
        })
        return ok({entity: toWire(result.entity)}, 201)
      },
      method: 'POST',
      pattern: '/v1/blueprints/:bp/entities',
    },
    {
      auth: 'run',
      handler: async (request) => {
        const {entities: items} = body(request, 'idp:api-requests#/$defs/bulkEntities', 'Invalid bulk request')
        const options = writeOptions(request, writeMode(request))
        const outcome = await write(async () => {
          const blueprint = await entities.blueprint(request.params.bp!)
          mayWriteEntities(request.principal, blueprint.identifier)
          const done: {identifier: string; index: number; created: boolean; additionalData: object}[] = []
          const errors: {identifier: string; index: number; statusCode: number; error: string; message: string}[] = []
          for (const [index, item] of items.entries()) {
            try {
              const {entity, created} = await entities.write(blueprint, item, options)
              done.push({additionalData: {}, created, identifier: entity.identifier, index})
            } catch (error) {
              if (!(error instanceof PortalError)) throw error
              const identifier = typeof item?.identifier === 'string' ? item.identifier : 'unknown'
              errors.push({error: error.code, identifier, index, message: error.message, statusCode: error.status})
            }
          }
          return {done, errors}
        })
        return ok({entities: outcome.done, errors: outcome.errors}, outcome.errors.length > 0 ? 207 : 200)
      },
      method: 'POST',
      pattern: '/v1/blueprints/:bp/entities/bulk',
    },
    {
      auth: 'member',
      handler: async (request) => {
        const {entities: ids} = body(request, 'idp:api-requests#/$defs/bulkDelete', 'Invalid bulk delete')
        const deleteDependents = booleanParam(request.query, 'delete_dependents')
        const deleted = await write(async () => {
          const {identifier: bp} = await blueprints.get(request.params.bp!)
          mayWriteEntities(request.principal, bp)
          return entities.delete(bp, ids, {...audit(request), deleteDependents, ignoreMissing: true})
        })
        return ok({deletedEntities: deleted})
      },
      method: 'POST',
      pattern: '/v1/blueprints/:bp/bulk/entities/delete',
    },
    {
      auth: 'member',
      handler: async (request) => {
        const bp = (await blueprints.get(request.params.bp!)).identifier
        const found = await store.getEntity(bp, request.params.id!)
        if (!found)
          throw new PortalError(404, 'not_found', `Entity "${request.params.id}" of blueprint "${bp}" was not found`)
        return ok({entity: view(request)(found)})
      },
      method: 'GET',
      pattern: '/v1/blueprints/:bp/entities/:id',
    },
    ...(['PUT', 'PATCH'] as const).map((method) => ({
      auth: 'run' as const,
      handler: async (request: RequestContext) => {
        const input = body(request, 'idp:entity', 'Invalid entity')
        if (input.identifier !== undefined && input.identifier !== request.params.id) {
          throw invalid('Invalid entity', [
            {message: `must be "${request.params.id}" (the identifier in the URL)`, pointer: '/identifier'},
          ])
        }
        const result = await write(async () => {
          const blueprint = await entities.blueprint(request.params.bp!)
          mayWriteEntities(request.principal, blueprint.identifier)
          const entity = {...input, identifier: request.params.id!}
          return entities.write(blueprint, entity, writeOptions(request, method === 'PUT' ? 'replace' : 'patch'))
        })
        return ok({entity: toWire(result.entity)})
      },
      method,
      pattern: '/v1/blueprints/:bp/entities/:id',
    })),
    {
      auth: 'member',
      handler: async (request) => {
        const deleteDependents = booleanParam(request.query, 'delete_dependents')
        await write(async () => {
          const {identifier} = await blueprints.get(request.params.bp!)
          mayWriteEntities(request.principal, identifier)
          await entities.delete(identifier, [request.params.id!], {...audit(request), deleteDependents})
        })
        return ok({})
      },
      method: 'DELETE',
      pattern: '/v1/blueprints/:bp/entities/:id',
    },
  ]
}
