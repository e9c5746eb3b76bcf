import {isFinal, type Action, type Run, type RunLog} from '../../model/port.js'
import type {FormContext} from '../../domain/dynamic-inputs.js'
import type {UserInputs} from '../../model/inputs.js'
import type {JqEngine} from '../../jq/engine.js'
import {toWire} from '../catalog/wire.js'
import {notFound, PortalError} from '../http/errors.js'
import {runInputs, targetEntity} from './run-inputs.js'
import {automationActor} from '../writes/audit.js'
import {generateId} from '../ids.js'
import type {RunEvents} from './run-events.js'
import {afterCommit, wake, type ChangeQueue} from '../writes/unit-of-work.js'
import {identityOf, type Permissions} from '../auth/permissions.js'
import type {Credential, Store} from '../store/store.js'

export interface RunAudit {
  caller: Credential
  now: Date
}

const terminated = (run: Run) =>
  new PortalError(422, 'run_terminated', `Run "${run.id}" has ended (${run.status}) and cannot be changed`)

/** Who the portal itself is in the run logs it writes. */
const PORTAL_ACTOR = 'idp-portal'
/**
 * The backend's reports on a run (outcome, what was sent) are made on behalf of whoever started
 * it, so they are credited to them, as the changes the run makes are.
 */
const onBehalfOf = (run: Run): Credential => ({clientId: run.createdBy, clientSecret: '', createdAt: '', role: 'admin'})

/** A run checked and built outside the write lock, ready to be stored. */
export interface PreparedRun {
  action: Action
  run: Run
  audit: RunAudit
  approvers: () => Promise<Credential[]>
  /** Why the execute policy's queries or conditions failed: told in the run's log. */
  problems: string[]
}

/** What PATCH /v1/actions/runs/{id} may change. */
export interface RunPatch {
  status?: 'SUCCESS' | 'FAILURE'
  statusLabel?: string
  link?: string | string[]
  summary?: string
  externalRunId?: string
}

/** Who may decide on a run, and why its approve policy failed, if it did. */
export interface Approvers {
  action: Action
  approvers: Credential[]
  problems: string[]
}

/** A run that waits for approval, for the approval-notification webhook (sent after commit). */
export type ApprovalNeeded = (run: Run, action: Action, approvers: () => Promise<Credential[]>) => void

export interface RunsOptions {
  store: Store
  jq: JqEngine
  events: RunEvents
  permissions: Permissions
  changes?: ChangeQueue
  approvalNeeded?: ApprovalNeeded
  /** The portal's log, for what its operator should hear of (a permission policy that fails). */
  notice?: (message: string) => void
}

/** Action runs: creation, the status lifecycle and logs (inputs, approvals and waiting are beside it). */
export class Runs {
  private readonly store: Store
  private readonly jq: JqEngine
  private readonly events: RunEvents
  private readonly permissions: Permissions
  private readonly changes: ChangeQueue | undefined
  private readonly approvalNeeded: ApprovalNeeded | undefined
  private readonly notice: (message: string) => void

  constructor(options: RunsOptions) {
    this.store = options.store
    this.jq = options.jq
    this.events = options.events
    this.permissions = options.permissions
    this.changes = options.changes
    this.approvalNeeded = options.approvalNeeded
    this.notice = options.notice ?? (() => {})
  }

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
    const execute = await this.permissions.mayExecute(subject)
    this.tell(action, execute.problems)
    if (!execute.value) {
      const why = execute.problems.length > 0 ? `; ${execute.problems.join('; ')}` : ''
      throw new PortalError(
        403,
        'forbidden',
        `${email} may not execute action "${action.identifier}" (see GET /v1/actions/${action.identifier}/permissions)${why}`,
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
    const approvers = async () => {
      const decided = await this.permissions.approvers(subject)
      this.tell(action, decided.problems)
      return decided.value
    }
    return {action, approvers, audit, problems: execute.problems, run}
  }

  /** A permission policy that failed, in the portal's log. */
  tell(action: Action, problems: string[]) {
    for (const problem of problems) this.notice(`action "${action.identifier}": ${problem}`)
  }

  /** A permission policy that failed, in the run's log (inside a write). */
  async logProblems(id: string, problems: string[], now: Date): Promise<void> {
    for (const problem of problems) await this.portalLog(id, `Permissions: ${problem}`, now)
  }

  /** Stores a prepared run and hands it to its backend (or to its approvers): inside the write, short. */
  async commit({action, approvers, audit, problems, run}: PreparedRun): Promise<Run> {
    if (!(await this.store.getAction(action.identifier)))
      throw notFound(`Action "${action.identifier}" was deleted meanwhile`)
    await this.store.putRun(run)
    await this.logProblems(run.id, problems, audit.now)
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
      createdBy: automationActor(action),
      updatedAt: at,
      updatedBy: automationActor(action),
    }
    await this.store.putRun(run)
    this.changes?.push({action: 'CREATE', after: run, before: null, by: run.createdBy, kind: 'run'})
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
      {caller: onBehalfOf(run), now},
    )
  }

  /** Records what the portal sent (or queued for an agent) on the run, with an optional log line. */
  async record(id: string, changes: Partial<Run>, now: Date, log?: string) {
    const run = await this.get(id)
    if (log) await this.portalLog(id, log, now)
    return this.save({...run, ...changes}, {caller: onBehalfOf(run), now})
  }

  private async portalLog(runId: string, message: string, now: Date) {
    await this.store.addRunLog({
      createdAt: now.toISOString(),
      createdBy: PORTAL_ACTOR,
      id: generateId('log'),
      message,
      runId,
    })
  }

  /**
   * PATCH: status, statusLabel, link, summary, externalRunId. A terminated run is final: every PATCH
   * of it is 422, a repeated status included, as Port answers (its GitHub Action's suite asserts it;
   * Port's agent logs the 422 of its second report and goes on). Log lines are still taken.
   */
  async patch(id: string, changes: RunPatch, audit: RunAudit): Promise<Run> {
    const run = await this.open(id)
    const next: Run = {...run}
    if (changes.status) next.status = changes.status
    if (changes.statusLabel !== undefined) next.statusLabel = changes.statusLabel
    if (changes.link !== undefined) next.link = Array.isArray(changes.link) ? changes.link : [changes.link]
    if (changes.summary !== undefined) next.summary = changes.summary
    if (changes.externalRunId !== undefined) next.externalRunId = changes.externalRunId
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

  private async open(id: string): Promise<Run> {
    const run = await this.get(id)
    if (isFinal(run)) throw terminated(run)
    return run
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
