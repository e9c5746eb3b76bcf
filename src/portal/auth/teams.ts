import type {Blueprint} from '../../model/port.js'
import {SYSTEM_BLUEPRINTS, TEAM_BLUEPRINT, USER_BLUEPRINT} from '../../model/system-blueprints.js'
import {canonicalBlueprint, same} from '../../domain/canonical.js'
import {relationTargets} from '../../domain/entity-rules.js'
import {pointer, type SchemaIssue} from '../../schemas/registry.js'
import {relationTargetsOf} from '../../domain/entity-rules.js'
import type {Credential, Store, StoredEntity} from '../store/store.js'

const SYSTEM_ACTOR = 'idp-portal'

/** Who a credential stands for, and its `_user` entity's identifier: `<clientId>@clients` when not given. */
export const credentialEmail = (credential: Credential): string => credential.email ?? `${credential.clientId}@clients`

/** Creates Port's `_team` and `_user` blueprints where they are missing (every start; idempotent). */
export async function ensureSystemBlueprints(store: Store, now: Date): Promise<void> {
  for (const blueprint of SYSTEM_BLUEPRINTS) {
    if (await store.getBlueprint(blueprint.identifier)) continue
    const at = now.toISOString()
    await store.putBlueprint({
      ...canonicalBlueprint(blueprint),
      createdAt: at,
      createdBy: SYSTEM_ACTOR,
      updatedAt: at,
      updatedBy: SYSTEM_ACTOR,
    })
  }
}

/**
 * A system blueprint may gain properties and relations; its default ones stay as they are, and
 * its title stays. Issues name each change that is not allowed.
 */
export function systemBlueprintIssues(candidate: Blueprint): SchemaIssue[] {
  const defaults = SYSTEM_BLUEPRINTS.find((blueprint) => blueprint.identifier === candidate.identifier)
  if (!defaults) return []
  const issues: SchemaIssue[] = []
  for (const [name, property] of Object.entries(defaults.schema.properties)) {
    if (!same(candidate.schema.properties[name], property))
      issues.push({
        message: 'is a default property of a system blueprint and cannot change',
        pointer: pointer('schema', 'properties', name),
      })
  }
  for (const [name, relation] of Object.entries(defaults.relations ?? {})) {
    const given = candidate.relations?.[name]
    if (!given || given.target !== relation.target || Boolean(given.many) !== relation.many)
      issues.push({
        message: 'is a default relation of a system blueprint and cannot change',
        pointer: pointer('relations', name),
      })
  }
  return issues
}

/**
 * The `_user` entity of a credential (identifier: its email) and the `_team` entities of its
 * teams, created or brought up to date. Inside a write.
 */
export async function syncCredentialUser(store: Store, credential: Credential, now: Date): Promise<void> {
  const at = now.toISOString()
  const audit = {createdAt: at, createdBy: SYSTEM_ACTOR, updatedAt: at, updatedBy: SYSTEM_ACTOR}
  const teams = credential.teams ?? []
  const teamBlueprint = (await store.getBlueprint(TEAM_BLUEPRINT))!
  const existingTeams = await store.existingEntities(TEAM_BLUEPRINT, teams)
  for (const team of teams.filter((team) => !existingTeams.has(team))) {
    await store.putEntity(
      {...audit, blueprint: TEAM_BLUEPRINT, identifier: team, properties: {}, relations: {}, team: [], title: team},
      relationTargetsOf(teamBlueprint),
    )
  }
  const userBlueprint = (await store.getBlueprint(USER_BLUEPRINT))!
  const email = credentialEmail(credential)
  const existing = await store.getEntity(USER_BLUEPRINT, email)
  const known = existing ? relationTeams(existing) : []
  const user: StoredEntity = {
    ...audit,
    ...(existing ? {createdAt: existing.createdAt, createdBy: existing.createdBy} : {}),
    blueprint: USER_BLUEPRINT,
    identifier: email,
    properties: {
      ...existing?.properties,
      port_role: credential.role === 'admin' ? 'Admin' : 'Member',
      port_type: 'Standard',
      status: 'Active',
    },
    relations: {...existing?.relations, teams: [...new Set([...known, ...teams])]},
    team: existing?.team ?? [],
    title: existing?.title ?? email,
  }
  await store.putEntity(user, relationTargetsOf(userBlueprint))
}

/** A credential's teams: those it was created with and those its `_user` entity relates to. */
export async function credentialTeams(store: Store, credential: Credential): Promise<string[]> {
  const email = credentialEmail(credential)
  const user = await store.getEntity(USER_BLUEPRINT, email)
  return [...new Set([...(credential.teams ?? []), ...(user ? relationTeams(user) : [])])]
}

const relationTeams = (user: StoredEntity): string[] => relationTargets(user.relations.teams)
