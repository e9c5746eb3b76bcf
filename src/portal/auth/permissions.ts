import {credentialEmail, credentialTeams} from './teams.js'
import type {Action, EntitiesQuery, Run} from '../../model/port.js'
import type {JqEngine} from '../../jq/engine.js'
import {renderTemplate} from '../invoke/templates.js'
import {compileSearch} from '../catalog/search.js'
import {entityOf, searchPages} from '../catalog/paging.js'
import {toWire} from '../catalog/wire.js'
import type {ActionPermissions, Credential, PermissionBlock, Store, StoredEntity} from '../store/store.js'

/** Port's defaults: everyone in the organisation may execute; admins approve. */
export const DEFAULT_PERMISSIONS: ActionPermissions = {
  approve: {policy: null, roles: ['Admin'], teams: [], users: []},
  execute: {ownedByTeam: false, policy: null, roles: ['Admin', 'Member'], teams: [], users: []},
}

export interface Identity {
  email: string
  userId: string
  roles: string[]
  teams: string[]
}

export function identityOf(credential: Credential): Identity {
  return {
    email: credentialEmail(credential),
    roles: [credential.role === 'admin' ? 'Admin' : 'Member'],
    teams: credential.teams ?? [],
    userId: credential.clientId,
  }
}

/** What a permission check sees: Port's policy context (`.user`, `.inputs`, `.entity`, `.results`...). */
export interface Subject {
  action: Action
  entity: StoredEntity | undefined
  inputs: Record<string, unknown>
  /** Who asked to run the action. */
  requester: Credential
  now: Date
}

/** A decision, with why a policy's query or condition failed (they count as no result, as on Port). */
export interface Decided<T> {
  value: T
  problems: string[]
}

/**
 * Port's action RBAC: without a policy, users (by email), roles and teams decide; with one, only
 * the policy does (its conditions are ORed; a query or condition that fails counts as no result,
 * and is reported, so that a broken policy is not mistaken for a refusal).
 */
export class Permissions {
  constructor(
    private readonly store: Store,
    private readonly jq: JqEngine,
  ) {}

  async get(action: string): Promise<ActionPermissions> {
    return (await this.store.getActionPermissions(action)) ?? DEFAULT_PERMISSIONS
  }

  /** PATCH: each block given replaces the keys it names; `policy: null` removes a policy. */
  async update(action: string, changes: Partial<Record<keyof ActionPermissions, Partial<PermissionBlock>>>) {
    const current = await this.get(action)
    const next: ActionPermissions = {
      approve: {...current.approve, ...changes.approve},
      execute: {...current.execute, ...changes.execute},
    }
    await this.store.putActionPermissions(action, next)
    return next
  }

  /** Admins may execute everything, as in Port. */
  async mayExecute(subject: Subject): Promise<Decided<boolean>> {
    if (subject.requester.role === 'admin') return {problems: [], value: true}
    const {execute} = await this.get(subject.action.identifier)
    const identity = await this.identity(subject.requester)
    if (execute.policy) {
      const {context, problems} = await this.policyContext(execute.policy, subject, 'execute')
      for (const [index, condition] of execute.policy.conditions.entries()) {
        const value = await this.condition(condition, context, `execute policy condition ${index + 1}`, problems)
        if (value === true) return {problems, value: true}
      }
      return {problems, value: false}
    }
    const value =
      matches(execute, identity) ||
      Boolean(execute.ownedByTeam && subject.entity?.team && overlaps(teamsOf(subject.entity), identity.teams))
    return {problems: [], value}
  }

  /** The credentials that may approve a run of this action, in creation order. */
  async approvers(subject: Subject): Promise<Decided<Credential[]>> {
    const {approve} = await this.get(subject.action.identifier)
    const credentials = await this.store.listCredentials()
    if (!approve.policy) {
      const approvers: Credential[] = []
      for (const credential of credentials)
        if (matches(approve, await this.identity(credential))) approvers.push(credential)
      return {problems: [], value: approvers}
    }
    const {context, problems} = await this.policyContext(approve.policy, subject, 'approve')
    const emails = new Set<string>()
    for (const [index, condition] of approve.policy.conditions.entries()) {
      const value = await this.condition(condition, context, `approve policy condition ${index + 1}`, problems)
      for (const email of Array.isArray(value) ? value : []) if (typeof email === 'string') emails.add(email)
    }
    return {problems, value: credentials.filter((credential) => emails.has(identityOf(credential).email))}
  }

  /** A condition's value; one that fails counts as none, and says why in `problems`. */
  private async condition(condition: string, context: unknown, what: string, problems: string[]): Promise<unknown> {
    try {
      return await this.jq.first(condition, context)
    } catch (error) {
      problems.push(`${what} failed: ${(error as Error).message}`)
      return undefined
    }
  }

  /** Who a credential is, with its teams: those it was given and its `_user` entity's. */
  private async identity(credential: Credential): Promise<Identity> {
    return {...identityOf(credential), teams: await credentialTeams(this.store, credential)}
  }

  /** The subject of an existing run, for deciding who approves it. */
  async runSubject(run: Run, action: Action, now: Date): Promise<Subject> {
    const requester = (await this.store.getCredential(run.createdBy)) ?? {
      clientId: run.createdBy,
      clientSecret: '',
      createdAt: '',
      role: 'member' as const,
    }
    const blueprint = action.trigger.blueprintIdentifier
    const entity = blueprint && run.entity ? await this.store.getEntity(blueprint, run.entity.identifier) : undefined
    return {action, entity, inputs: run.properties, now, requester}
  }

  private async policyContext(
    policy: NonNullable<PermissionBlock['policy']>,
    subject: Subject,
    block: keyof ActionPermissions,
  ) {
    const user = await this.identity(subject.requester)
    const base = {
      action: subject.action,
      blueprint: subject.action.trigger.blueprintIdentifier ?? null,
      entity: subject.entity ? toWire(subject.entity) : {},
      inputs: subject.inputs,
      trigger: {at: subject.now.toISOString(), user},
      user,
    }
    const results: Record<string, {entities: unknown[]}> = {}
    const problems: string[] = []
    for (const [name, query] of Object.entries(policy.queries)) {
      try {
        const rendered = (await renderTemplate(query, base, this.jq)) as EntitiesQuery
        const search = await compileSearch(rendered, this.store, subject.now)
        const entities: unknown[] = []
        for await (const page of searchPages(this.store, search, {page: 1000})) {
          entities.push(...page.map(entityOf))
        }
        results[name] = {entities}
      } catch (error) {
        // Port ignores a query that fails; conditions see no result for it.
        problems.push(`${block} policy query "${name}" failed: ${(error as Error).message}`)
      }
    }
    return {context: {...base, results}, problems}
  }
}

function matches(block: PermissionBlock, identity: Identity): boolean {
  const roles = new Set(block.roles.map((role) => role.toLowerCase()))
  return (
    block.users.includes(identity.email) ||
    identity.roles.some((role) => roles.has(role.toLowerCase())) ||
    overlaps(block.teams, identity.teams)
  )
}

const overlaps = (a: string[], b: string[]) => a.some((item) => b.includes(item))
const teamsOf = (entity: StoredEntity) => (Array.isArray(entity.team) ? entity.team : entity.team ? [entity.team] : [])
