import type {Action, Blueprint, Run} from '../../model/port.js'
import type {JqEngine} from '../../jq/engine.js'
import {ORG_ID} from '../writes/audit.js'
import {PortalNotice} from '../notice.js'
import {toWire} from '../catalog/wire.js'
import type {Runs} from '../runs/runs.js'
import {
  blueprintLookup,
  type AutomationEvent as QueuedEvent,
  type Store,
  type StoredEntity,
  type Timer,
} from '../store/store.js'
import {unitDepth, wake, type ChangeQueue} from '../writes/unit-of-work.js'
import type {PortalChange} from '../writes/change.js'
import type {WorkLeases} from './leases.js'
import {SerialWork} from './serial.js'
import type {StoreOutage} from './store-outage.js'
import {systemClock, type Clock} from '../../shared/when.js'

/** Port's automation event object (`.event` in conditions and templates). */
export interface AutomationEvent {
  action: 'CREATE' | 'UPDATE' | 'DELETE' | 'TIMER_EXPIRED'
  resourceType: 'entity' | 'run'
  trigger: {by: {orgId: string; userId: string}; origin: 'API'; at: string}
  context: {blueprintIdentifier: string; entityIdentifier: string; propertyIdentifier: string | null} | {action: Action}
  diff: {before: unknown; after: unknown}
}

const ENTITY_TRIGGERS: Record<string, string[]> = {
  CREATE: ['ENTITY_CREATED', 'ANY_ENTITY_CHANGE'],
  DELETE: ['ENTITY_DELETED', 'ANY_ENTITY_CHANGE'],
  UPDATE: ['ENTITY_UPDATED', 'ANY_ENTITY_CHANGE'],
}
const RUN_TRIGGERS: Record<string, string[]> = {
  CREATE: ['RUN_CREATED', 'ANY_RUN_CHANGE'],
  UPDATE: ['RUN_UPDATED', 'ANY_RUN_CHANGE'],
}

/** Changes caused by automation runs are handled too, but never more than this deep. */
const MAX_DEPTH = 5

/** Queued events claimed at once: few, as each waits for the ones before it to be evaluated. */
const CLAIM_EVENTS = 10

/**
 * Turns the changes of a write transaction into timer rows and automation runs. Inside the
 * transaction: an entity's timer properties become timers, and each published automation whose
 * trigger matches gets a run right away when it has no condition; one with a jq condition is
 * queued in the same transaction (an outbox row, so a crash cannot lose it) and its condition is
 * evaluated after the commit, outside the write lock: a slow condition delays only its own run.
 * Queued events are leased to one process at a time, so each is evaluated once however many
 * processes share the store; a dead process's events are evaluated again once their leases lapse.
 */
export interface AutomationsOptions {
  store: Store
  jq: JqEngine
  runs: Runs
  changes: ChangeQueue
  /** Runs a write transaction `depth` automation hops from the first. */
  write: <T>(work: () => Promise<T>, depth: number) => Promise<T>
  onError: (error: unknown) => void
  clock?: Clock
  /** The leases this process holds on queued events. */
  leases: WorkLeases
  outage?: StoreOutage
}

export class Automations {
  private readonly serial: SerialWork
  private readonly store: Store
  private readonly jq: JqEngine
  private readonly runs: Runs
  private readonly changes: ChangeQueue
  private readonly write: AutomationsOptions['write']
  private readonly onError: (error: unknown) => void
  private readonly clock: Clock
  private readonly leases: WorkLeases

  constructor(options: AutomationsOptions) {
    this.store = options.store
    this.jq = options.jq
    this.runs = options.runs
    this.changes = options.changes
    this.write = options.write
    this.onError = options.onError
    this.clock = options.clock ?? systemClock
    this.leases = options.leases
    this.serial = new SerialWork(() => this.evaluateQueued(), {
      idleMs: options.leases.leaseMs,
      onError: options.onError,
      outage: options.outage,
    })
  }

  /** Inside the write: timers, unconditional automation runs, and queued conditional ones. */
  async handle(now: Date): Promise<boolean> {
    let queued = false
    // Timers always follow their entities; automations stop at MAX_DEPTH hops.
    for (let depth = unitDepth(); ; depth++) {
      const changes = this.changes.take()
      if (changes.length === 0) return queued
      const automations =
        depth < MAX_DEPTH ? (await this.store.listAutomations()).filter((action) => action.publish !== false) : []
      const blueprint = blueprintLookup(this.store)
      for (const change of changes) {
        if (change.kind === 'entity') await this.syncTimers(change, await blueprint(change.blueprint))
        for (const automation of automations) {
          const event = this.match(automation, change, now)
          if (!event) continue
          if (hasCondition(automation)) {
            await this.store.queueAutomationEvent({automation: automation.identifier, depth, event})
            queued = true
          } else await this.runs.createForAutomation(automation, event, now)
        }
      }
    }
  }

  /** Evaluates queued conditions (after a write that queued some, and at start). */
  kick(): void {
    this.serial.kick()
  }

  stop(): Promise<void> {
    return this.serial.stop()
  }

  private async evaluateQueued(): Promise<void> {
    const {leases, store} = this
    while (!this.serial.stopped) {
      const now = this.clock().getTime()
      const claimed = await store.transaction(() =>
        store.claimAutomationEvents({limit: CLAIM_EVENTS, now, owner: leases.owner, until: leases.until()}),
      )
      if (claimed.length === 0) return
      for (const {seq} of claimed) leases.holdEvent(seq)
      try {
        // Events left when the portal stops keep their leases until it releases them all.
        for (const claim of claimed) if (!this.serial.stopped) await this.evaluate(claim)
      } finally {
        for (const {seq} of claimed) leases.dropEvent(seq)
      }
    }
  }

  /**
   * The event's run, if its condition holds, is created in the write that deletes the event, and
   * only if that write deleted it: never twice, even for an event whose lease lapsed mid-way.
   */
  private async evaluate({automation: identifier, depth, event, seq}: QueuedEvent): Promise<void> {
    const automation = await this.store.getAction(identifier)
    const holds = automation ? await this.conditionHolds(automation, event as AutomationEvent) : false
    await this.write(async () => {
      if ((await this.store.deleteAutomationEvent(seq)) && holds)
        await this.runs.createForAutomation(automation!, event, this.clock())
    }, depth + 1)
  }

  private async syncTimers(change: Extract<PortalChange, {kind: 'entity'}>, blueprint: Blueprint | undefined) {
    const timers: Timer[] = []
    if (change.after && blueprint) {
      for (const [property, schema] of Object.entries(blueprint.schema.properties)) {
        if (schema.format !== 'timer') continue
        const value = change.after.properties[property]
        const expiresAt = typeof value === 'string' ? Date.parse(value) : Number.NaN
        if (!Number.isNaN(expiresAt))
          timers.push({blueprint: change.blueprint, entity: change.identifier, expiresAt, property})
      }
    }
    if (timers.length > 0 || change.action === 'DELETE' || change.before) {
      await this.store.setTimers(change.blueprint, change.identifier, timers)
      if (timers.length > 0) wake('timers')
    }
  }

  private match(automation: Action, change: PortalChange, now: Date): AutomationEvent | undefined {
    const trigger = automation.trigger.event
    if (!trigger) return undefined
    const at = now.toISOString()
    if (change.kind === 'entity' || change.kind === 'timer') {
      if (trigger.blueprintIdentifier !== change.blueprint) return undefined
      if (change.kind === 'timer') {
        if (trigger.type !== 'TIMER_PROPERTY_EXPIRED' || trigger.propertyIdentifier !== change.property)
          return undefined
        const entity = entityView(change.entity)
        return {
          action: 'TIMER_EXPIRED',
          context: {
            blueprintIdentifier: change.blueprint,
            entityIdentifier: change.identifier,
            propertyIdentifier: change.property,
          },
          diff: {after: entity, before: entity},
          resourceType: 'entity',
          trigger: {at, by: {orgId: ORG_ID, userId: 'idp-portal'}, origin: 'API'},
        }
      }
      if (!ENTITY_TRIGGERS[change.action]!.includes(trigger.type)) return undefined
      return {
        action: change.action,
        context: {blueprintIdentifier: change.blueprint, entityIdentifier: change.identifier, propertyIdentifier: null},
        diff: {after: change.after && entityView(change.after), before: change.before && entityView(change.before)},
        resourceType: 'entity',
        trigger: {at, by: {orgId: ORG_ID, userId: change.by}, origin: 'API'},
      }
    }
    // A run change: never an automation's own runs (that would loop).
    if (
      trigger.actionIdentifier !== change.after.action.identifier ||
      automation.identifier === change.after.action.identifier
    )
      return undefined
    if (!RUN_TRIGGERS[change.action]!.includes(trigger.type)) return undefined
    return {
      action: change.action,
      context: {action: automation},
      diff: {after: change.after, before: change.before as Run | null},
      resourceType: 'run',
      trigger: {at, by: {orgId: ORG_ID, userId: change.by}, origin: 'API'},
    }
  }

  private async conditionHolds(automation: Action, event: AutomationEvent): Promise<boolean> {
    const condition = conditionOf(automation)
    if (!condition?.expressions?.length) return true
    try {
      const results = []
      for (const expression of condition.expressions) results.push(Boolean(await this.jq.first(expression, event)))
      return condition.combinator === 'or' ? results.some(Boolean) : results.every(Boolean)
    } catch (error) {
      this.onError(
        new PortalNotice(`automation "${automation.identifier}": condition failed: ${(error as Error).message}`),
      )
      return false
    }
  }
}

const conditionOf = (automation: Action) =>
  automation.trigger.condition as {expressions?: string[]; combinator?: 'and' | 'or'} | undefined
const hasCondition = (automation: Action) => Boolean(conditionOf(automation)?.expressions?.length)

/** An entity as events show it: Port's wire fields, its blueprint and audit fields. */
const entityView = (entity: StoredEntity) => toWire(entity)
