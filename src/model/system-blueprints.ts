import type {Blueprint} from './port.js'

/** Port's system blueprints: every organisation has them; teams and users are their entities. */
export const TEAM_BLUEPRINT = '_team'
export const USER_BLUEPRINT = '_user'

const maps = {aggregationProperties: {}, calculationProperties: {}, mirrorProperties: {}}

/**
 * Their default shape, as Port documents it ("Users & teams as blueprints"): a user's identifier
 * is their email and their teams a relation; a team's identifier is what entities' `team` names.
 * Properties and relations may be added to them; these may not be changed or removed.
 */
export const SYSTEM_BLUEPRINTS: Blueprint[] = [
  {
    ...maps,
    icon: 'Team',
    identifier: TEAM_BLUEPRINT,
    relations: {},
    schema: {
      properties: {
        description: {title: 'Description', type: 'string'},
        size: {title: 'Size', type: 'number'},
      },
      required: [],
    },
    title: 'Team',
  },
  {
    ...maps,
    icon: 'User',
    identifier: USER_BLUEPRINT,
    relations: {teams: {many: true, required: false, target: TEAM_BLUEPRINT, title: 'Teams'}},
    schema: {
      properties: {
        moderated_blueprints: {items: {type: 'string'}, title: 'Moderated Blueprints', type: 'array'},
        port_role: {enum: ['Admin', 'Member', 'Moderator'], title: 'Port Role', type: 'string'},
        port_type: {enum: ['Standard', 'Service Account'], title: 'Port type', type: 'string'},
        status: {enum: ['Active', 'Invited', 'Disabled'], title: 'Status', type: 'string'},
      },
      required: [],
    },
    title: 'User',
  },
]

export const isSystemBlueprint = (identifier: string): boolean =>
  identifier === TEAM_BLUEPRINT || identifier === USER_BLUEPRINT
