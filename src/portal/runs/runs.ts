import type {Action, Run, RunLog} from '../../model/port.js'
import {TERMINAL_STATUSES} from '../../model/port.js'
import type {FormContext} from '../../domain/dynamic-inputs.js'
import type {UserInputs} from '../../model/inputs.js'
import type {JqEngine} from '../../jq/engine.js'
import {toWire} from '../catalog/wire.js'
import {runInputs, targetEntity} from './run-inputs.js'
import {notFound, PortalError} from '../http/errors.js'
import {generateId} from '../ids.js'
import type {RunEvents} from './run-events.js'
import {afterCommit, wake, type ChangeQueue} from '../writes/unit-of-work.js'
import {identityOf, type Permissions} from '../auth/permissions.js'
import type {Credential, Store} from '../store/store.js'

export interface RunAudit {
  caller: Credential
  now: Date
}

export const isFinal = (run: Run) => TERMINAL_STATUSES.includes(run.status)
const terminated = (run: Run) =>
  new PortalError(422, 'run_terminated', `Run "${run.id}" has ended (${run.status}) and cannot be changed`)

/** Who the portal itself acts as when it reports on runs and starts automations. */
export const AUTOMATION_ACTOR = 'idp-portal'
const PORTAL_CALLER: Credential = {clientId: AUTOMATION_ACTOR, clientSecret: '', createdAt: '', role: 'admin'}

/** A run checked and built outside the write lock, ready to be stored. */
export interface PreparedRun {
  action: Action
  run: Run
  audit: RunAudit
  approvers: () => Promise<Credential[]>
}

/** A run that waits for approval, for the approval-notification webhook (sent after commit). */
export type ApprovalNeeded = (run: Run, action: Action, approvers: () => Promise<Credential[]>) => void

/** Action runs: creation, the status lifecycle and logs (inputs, approvals and waiting are beside it). */
export class RunsService {
  constructor(
    private readonly store: Store,
    private readonly jq: JqEngine,
    private readonly events: RunEvents,
    private readonly permissions: Permissions,
    private readonly changes?: ChangeQueue,
    private readonly approvalNeeded?: ApprovalNeeded,
  ) {}

  async get(id: string): Promise<Run> {
    const run = await this.store.getRun(id)
    if (!run) throw notFound(`Run "${id}" was not found`)
    return run
  }

  /**
   * Everything a new run needs that is slow or reads much (the target entity, input defaults and
   * checks with jq, the execute permission): done before the write, on committed data.
   */
  async prepare(
    action: Action,
    body: {properties: Record<string, unknown>; entity?: string},
    audit: RunAudit,
  ): Promise<PreparedRun> {
    const {trigger} = action
    if (trigger.type !== 'self-service') {
      throw new PortalError(
        422,
        'invalid_request',
        `"${action.identifier}" is an automation; only self-service actions can be run`,
      )
    }
    const entity = await targetEntity(this.store, action, body.entity)
    const userInputs: UserInputs = trigger.userInputs ?? {properties: {}}
    const {email, userId} = identityOf(audit.caller)
    const context: FormContext = {
      entity: entity ? toWire(entity) : null,
      form: {...body.properties},
      user: {email, userId},
    }
    const properties = await runInputs(this.store, this.jq, action, userInputs, context, audit.caller)
    const subject = {action, entity, inputs: properties, now: audit.now, requester: audit.caller}
    if (!(await this.permissions.mayExecute(subject))) {
      throw new PortalError(
        403,
        'forbidden',
        `${email} may not execute action "${action.identifier}" (see GET /v1/actions/${action.identifier}/permissions)`,
      )
    }

    const now = audit.now.toISOString()
    const approval = Boolean(action.requiredApproval)
    const blueprint = trigger.blueprintIdentifier
      ? await this.store.getBlueprint(trigger.blueprintIdentifier)
      : undefined
    const run: Run = {
      id: generateId('r'),
      status: approval ? 'WAITING_FOR_APPROVAL' : 'IN_PROGRESS',
      statusLabel: null,
      action: {icon: action.icon ?? null, identifier: action.identifier, title: action.title ?? null},
      ...(blueprint
        ? {blueprint: {icon: blueprint.icon ?? null, identifier: blueprint.identifier, title: blueprint.title}}
        : {}),
      ...(entity
        ? {entity: {icon: entity.icon ?? null, identifier: entity.identifier, title: entity.title ?? null}}
        : {}),
      properties,
      source: 'API',
      requiredApproval: action.requiredApproval ?? false,
      approval: null,
      link: [],
      createdAt: now,
      createdBy: audit.caller.clientId,
      updatedAt: now,
      updatedBy: audit.caller.clientId,
    }
    return {action, approvers: () => this.permissions.approvers(subject), audit, run}
  }

  /** Stores a prepared run and hands it to its backend (or to its approvers): inside the write, short. */
  async commit({action, approvers, audit, run}: PreparedRun): Promise<Run> {
    if (!(await this.store.getAction(action.identifier)))
      throw notFound(`Action "${action.identifier}" was deleted meanwhile`)
    await this.store.putRun(run)
    this.changes?.push({action: 'CREATE', after: run, before: null, by: audit.caller.clientId, kind: 'run'})
    if (run.status === 'IN_PROGRESS') await this.schedule(run.id, audit.now)
    else this.approvalNeeded?.(run, action, approvers)
    return run
  }

  /** A run of an automation, started by an event; its payload templates see the event as `.event`. */
  async createForAutomation(action: Action, event: unknown, now: Date): Promise<Run> {
    const at = now.toISOString()
    const run: Run = {
      id: generateId('r'),
      status: 'IN_PROGRESS',
      statusLabel: null,
      action: {icon: action.icon ?? null, identifier: action.identifier, title: action.title ?? null},
      properties: {},
      source: 'AUTOMATION',
      requiredApproval: false,
      approval: null,
      link: [],
      createdAt: at,
      createdBy: AUTOMATION_ACTOR,
      updatedAt: at,
      updatedBy: AUTOMATION_ACTOR,
    }
    await this.store.putRun(run)
    this.changes?.push({action: 'CREATE', after: run, before: null, by: AUTOMATION_ACTOR, kind: 'run'})
    await this.schedule(run.id, now, {event})
    return run
  }

  /** Hands the run to its backend (see Dispatcher): right away, and again after a crash. */
  async schedule(runId: string, now: Date, context?: unknown): Promise<void> {
    await this.store.putDispatch({attempts: 0, availableAt: now.getTime(), context, runId, state: 'pending'})
    wake('dispatcher')
  }

  /** The backend's outcome as the portal learnt it (a synchronized webhook, GitHub, an entity upsert). */
  async finish(
    id: string,
    outcome: {status: 'SUCCESS' | 'FAILURE'; summary?: string; response?: unknown; link?: string[]; log?: string},
    now: Date,
  ) {
    const run = await this.get(id)
    if (isFinal(run)) return run
    if (outcome.log) await this.portalLog(id, outcome.log, now)
    return this.save(
      {
        ...run,
        status: outcome.status,
        ...(outcome.summary === undefined ? {} : {summary: outcome.summary}),
        ...(outcome.response === undefined ? {} : {response: outcome.response}),
        ...(outcome.link ? {link: outcome.link} : {}),
      },
      {caller: PORTAL_CALLER, now},
    )
  }

  /** Records what the portal sent (or queued for an agent) on the run, with an optional log line. */
  async record(id: string, changes: Partial<Run>, now: Date, log?: string) {
    const run = await this.get(id)
    if (log) await this.portalLog(id, log, now)
    return this.save({...run, ...changes}, {caller: PORTAL_CALLER, now})
  }

  private async portalLog(runId: string, message: string, now: Date) {
    await this.store.addRunLog({
      createdAt: now.toISOString(),
      createdBy: AUTOMATION_ACTOR,
      id: generateId('log'),
      message,
      runId,
    })
  }

  /**
   * PATCH: status, statusLabel, link, summary, externalRunId. A terminated run is final: a report
   * that repeats its status (a retry, an agent's second report) is answered with the run as it is;
   * one that would flip it is refused.
   */
  async patch(id: string, changes: Record<string, unknown>, audit: RunAudit): Promise<Run> {
    const run = await this.get(id)
    if (isFinal(run)) {
      if (changes.status === undefined || changes.status === run.status) return run
      throw terminated(run)
    }
    const next: Run = {...run}
    if (changes.status) next.status = changes.status as Run['status']
    if (changes.statusLabel !== undefined) next.statusLabel = changes.statusLabel as string
    if (changes.link !== undefined)
      next.link = Array.isArray(changes.link) ? (changes.link as string[]) : [changes.link as string]
    if (changes.summary !== undefined) next.summary = changes.summary as string
    if (changes.externalRunId !== undefined) next.externalRunId = changes.externalRunId as string
    return this.save(next, audit)
  }

  async addLog(
    id: string,
    body: {message: string; terminationStatus?: 'SUCCESS' | 'FAILURE'; statusLabel?: string},
    audit: RunAudit,
  ) {
    const run = await this.get(id)
    // Log lines still arrive after the end (an agent's last words); the status stays final.
    const ended = isFinal(run)
    if (ended && body.terminationStatus && body.terminationStatus !== run.status) throw terminated(run)
    const log: RunLog = {
      createdAt: audit.now.toISOString(),
      createdBy: audit.caller.clientId,
      id: generateId('log'),
      message: body.message,
      runId: id,
    }
    await this.store.addRunLog(log)
    if (ended) return log
    const next: Run = {...run}
    if (body.terminationStatus) next.status = body.terminationStatus
    if (body.statusLabel !== undefined) next.statusLabel = body.statusLabel
    await this.save(next, audit)
    return log
  }

  /** A synchronized webhook's answer, as Port's agent reports it (also after the run has ended). */
  async respond(id: string, response: unknown, audit: RunAudit): Promise<Run> {
    return this.save({...(await this.get(id)), response}, audit)
  }

  /** Stores a changed run: a new updatedAt, endedAt once it ends, its watchers woken after commit. */
  async save(run: Run, audit: RunAudit): Promise<Run> {
    const now = audit.now.toISOString()
    // A run that changes twice in one millisecond still gets a new updatedAt, so watchers see both.
    const previous = (await this.store.getRun(run.id))?.updatedAt
    const updatedAt = previous && previous >= now ? new Date(Date.parse(previous) + 1).toISOString() : now
    const saved: Run = {
      ...run,
      updatedAt,
      updatedBy: audit.caller.clientId,
      ...(isFinal(run) && !run.endedAt ? {endedAt: now} : {}),
    }
    const before = await this.store.getRun(run.id)
    await this.store.putRun(saved)
    // Watchers read committed state, so they are woken once this write has committed.
    afterCommit(() => this.events.changed(run.id))
    this.changes?.push({action: 'UPDATE', after: saved, before: before ?? null, by: audit.caller.clientId, kind: 'run'})
    return saved
  }
}
