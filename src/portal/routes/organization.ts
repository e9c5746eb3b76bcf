import type {Route} from '../http/router.js'
import {ORG_ID} from '../writes/audit.js'
import {body, ok, type RouteKit} from './kit.js'

interface Organization {
  id: string
  name: string
  settings: Record<string, unknown>
}

const DEFAULT: Organization = {id: ORG_ID, name: 'idp embedded portal', settings: {}}

/**
 * The organisation's details. Port's execution agent PATCHes its streamer name into the settings
 * when it starts; the portal keeps what it is sent.
 */
export function organizationRoutes(kit: RouteKit): Route[] {
  const {store, write} = kit
  const current = async () => ((await store.getSetting('organization')) as Organization | undefined) ?? DEFAULT
  return [
    {
      auth: 'member',
      handler: async () => ok({organization: await current()}),
      method: 'GET',
      pattern: '/v1/organization',
    },
    {
      auth: 'agent',
      handler: async (request) => {
        const changes: Partial<Organization> = body(
          request,
          'idp:api-requests#/$defs/organizationPatch',
          'Invalid organization update',
        )
        await write(async () => {
          const organization = await current()
          await store.putSetting('organization', {
            ...organization,
            ...(changes.name === undefined ? {} : {name: changes.name}),
            settings: {...organization.settings, ...changes.settings},
          })
        })
        return ok({})
      },
      method: 'PATCH',
      pattern: '/v1/organization',
    },
  ]
}
