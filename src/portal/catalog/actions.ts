import type {Action} from '../../model/port.js'
import {conflict, invalid, notFound} from '../http/errors.js'
import {generateId} from '../ids.js'
import type {Store} from '../store/store.js'
import {auditDefinition} from '../writes/unit-of-work.js'

export interface Audit {
  actor: string
  now: Date
}

/** Self-service actions and automations (`/v1/actions`). */
export class Actions {
  constructor(private readonly store: Store) {}

  async get(identifier: string): Promise<Action> {
    const action = await this.store.getAction(identifier)
    if (!action) throw notFound(`Action "${identifier}" was not found`)
    return action
  }

  async create(input: Action, audit: Audit): Promise<Action> {
    const action = await this.check(input)
    if (await this.store.getAction(action.identifier))
      throw conflict(`An action with identifier "${action.identifier}" already exists`)
    return this.save(action, undefined, audit)
  }

  async replace(identifier: string, input: Action, audit: Audit): Promise<Action> {
    const existing = await this.get(identifier)
    const action = await this.check(input)
    if (action.identifier !== identifier) {
      throw invalid('Invalid action', [
        {message: `must be "${identifier}" (identifiers cannot change)`, pointer: '/identifier'},
      ])
    }
    return this.save(action, existing, audit)
  }

  async delete(identifier: string, audit: Audit): Promise<void> {
    const existing = await this.get(identifier)
    await this.store.deleteAction(identifier)
    auditDefinition({
      action: 'DELETE',
      after: null,
      before: existing,
      by: audit.actor,
      identifier,
      resourceType: 'action',
    })
  }

  async list(filter: URLSearchParams): Promise<Action[]> {
    const values = (name: string) =>
      [...filter.getAll(name), ...filter.getAll(`${name}[]`)].flatMap((value) => value.split(','))
    const ids = values('action_identifier')
    const blueprints = values('blueprint_identifier')
    const operations = values('operation')
    const events = values('trigger_event')
    const triggerType = filter.get('trigger_type')
    const published = filter.get('published')
    return (await this.store.listActions()).filter(
      (action) =>
        (ids.length === 0 || ids.includes(action.identifier)) &&
        (blueprints.length === 0 ||
          blueprints.includes(action.trigger.blueprintIdentifier ?? action.trigger.event?.blueprintIdentifier ?? '')) &&
        (operations.length === 0 || operations.includes(action.trigger.operation ?? '')) &&
        (events.length === 0 || events.includes(action.trigger.event?.type ?? '')) &&
        (!triggerType || action.trigger.type === triggerType) &&
        (published === null || String(action.publish ?? true) === published),
    )
  }

  /** The blueprint it names exists (its shape was checked with the request body). */
  private async check(action: Action): Promise<Action> {
    const blueprint = action.trigger.blueprintIdentifier ?? action.trigger.event?.blueprintIdentifier
    if (blueprint && !(await this.store.getBlueprint(blueprint))) {
      const pointer =
        action.trigger.type === 'automation' ? '/trigger/event/blueprintIdentifier' : '/trigger/blueprintIdentifier'
      throw invalid(`Invalid action "${action.identifier}"`, [
        {message: `names blueprint "${blueprint}", which does not exist`, pointer},
      ])
    }
    return action
  }

  private async save(action: Action, existing: Action | undefined, audit: Audit): Promise<Action> {
    const now = audit.now.toISOString()
    const {createdAt: _a, createdBy: _b, id: _id, updatedAt: _c, updatedBy: _d, ...body} = action
    const saved: Action = {
      ...body,
      id: existing?.id ?? generateId('action'),
      createdAt: existing?.createdAt ?? now,
      createdBy: existing?.createdBy ?? audit.actor,
      updatedAt: now,
      updatedBy: audit.actor,
    }
    await this.store.putAction(saved)
    auditDefinition({
      action: existing ? 'UPDATE' : 'CREATE',
      after: saved,
      before: existing ?? null,
      by: audit.actor,
      identifier: saved.identifier,
      resourceType: 'action',
    })
    return saved
  }
}
