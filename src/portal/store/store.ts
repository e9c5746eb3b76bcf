import type {
  Action,
  ActionPermissions,
  AuditFilter,
  AuditRecord,
  Blueprint,
  Entity,
  Run,
  RunFilter,
  RunLog,
} from '../../model/port.js'

export type {ActionPermissions, PermissionBlock} from '../../model/port.js'

/** The audit log keeps this many records; older ones are dropped as new ones arrive. */
export const MAX_AUDIT_RECORDS = 200_000

/** The store's database cannot be reached right now (the portal answers 503 and retries later). */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError'
}

/** SQLSTATEs by which a database refuses a transaction for a concurrent one's sake: serialization failure, deadlock. */
const CONFLICTS = new Set(['40001', '40P01'])

/** The database refused the transaction because of a concurrent one: running it again may succeed. */
export function isWriteConflict(error: unknown): boolean {
  return typeof error === 'object' && error !== null && CONFLICTS.has(String((error as {code?: unknown}).code))
}

/** What a credential may do (see auth/access.ts). */
export type Role = 'admin' | 'member' | 'agent'

/** An entity as the portal keeps it: always with its blueprint and audit fields. */
export type StoredEntity = Entity & {blueprint: string}

export interface Credential {
  clientId: string
  clientSecret: string
  role: Role
  createdAt: string
  /** Who the credential stands for; `<clientId>@clients` when not given. */
  email?: string
  teams?: string[]
}

/** How far a run's backend has got. `pending`: to be sent by the portal; `queued`: waiting for an agent. */
export interface Dispatch {
  runId: string
  state: 'pending' | 'queued' | 'claimed' | 'done'
  attempts: number
  /** Epoch ms: not before (retries back off). */
  availableAt: number
  claimedUntil?: number | undefined
  installationId?: string | undefined
  /** The automation event or other context the payload templates need. */
  context?: unknown
}

/** One approver's decision on a run. */
export interface Approval {
  runId: string
  clientId: string
  state: 'APPROVED' | 'DECLINED'
  description?: string | undefined
  at: string
}

export interface Timer {
  blueprint: string
  entity: string
  property: string
  /** Epoch ms. */
  expiresAt: number
}

/** An automation whose trigger matched, waiting for its jq condition to be evaluated (an outbox row). */
export interface AutomationEvent {
  seq: number
  automation: string
  event: unknown
  /** Automation hops that led here. */
  depth: number
}

export interface EntityRef {
  blueprint: string
  identifier: string
}

/** A relation target a source loses when that target is deleted. */
export interface RemovedTarget {
  relation: string
  target: EntityRef
}

/**
 * getBlueprint, remembered for one piece of work (a write reads the same few blueprints for each
 * entity it touches); `known` are blueprints it already has, stored or not.
 */
export function blueprintLookup(
  store: Store,
  known: Blueprint[] = [],
): (identifier: string) => Promise<Blueprint | undefined> {
  const found = new Map<string, Blueprint | undefined>(known.map((blueprint) => [blueprint.identifier, blueprint]))
  return async (identifier) => {
    if (!found.has(identifier)) found.set(identifier, await store.getBlueprint(identifier))
    return found.get(identifier)
  }
}

export interface Dependent extends EntityRef {
  relation: string
}

/**
 * Where a filter reads an entity's value: a field of its stored JSON (`['identifier']`,
 * `['team']`), or a property, else the relation of that name (how Port's search rules read one).
 */
export type FilterValue = {field: string} | {property: string}

/**
 * A search condition the store evaluates itself, so that searches are answered from the store's
 * indexes and pages instead of scanning every entity in the portal. Values compare by their
 * minified JSON text (what JSON.stringify writes), which is exact for every JSON type.
 */
export type EntityFilter =
  | {all: EntityFilter[]}
  | {any: EntityFilter[]}
  | {not: EntityFilter}
  /** The value's JSON text is this one; `null`: the value is absent. */
  | {value: FilterValue; equals: string | null}
  /** An array value has an item with one of these JSON texts; any other value has one itself. */
  | {value: FilterValue; oneOf: string[]}
  /** A string value contains `text` (when given), or an array value has an item whose JSON text is `item`. */
  | {value: FilterValue; contains: {text?: string; item: string}}
  | {value: FilterValue; startsWith: string}
  | {value: FilterValue; endsWith: string}
  /** Absent, null, "", [] or {}. */
  | {value: FilterValue; empty: true}
  /** One of these entities. */
  | {entities: EntityRef[]}

/** A stored entity as its JSON text: the wire form, ready to embed in an answer. */
export interface EntityText {
  seq: number
  blueprint: string
  json: string
}

/** Credentials, portal-wide settings and the token-signing key. */
export interface CredentialStore {
  createCredential(credential: Credential): Promise<void>
  getCredential(clientId: string): Promise<Credential | undefined>
  countCredentials(): Promise<number>
  listCredentials(): Promise<Credential[]>
  /** Deletes the credential (its tokens stop working with it); false when unknown. */
  deleteCredential(clientId: string): Promise<boolean>
  /** The oldest admin credential: the organisation's, whose secret keys secret inputs (as in Port). */
  adminCredential(): Promise<Credential | undefined>
  /** A portal-wide setting (the organisation's details), or undefined. */
  getSetting(key: string): Promise<unknown>
  putSetting(key: string, value: unknown): Promise<void>
  /** The key access tokens are signed with, made once with the store. */
  tokenKey(): Promise<Buffer>
}

/** Blueprints. */
export interface BlueprintStore {
  listBlueprints(): Promise<Blueprint[]>
  /** Blueprints whose ownership is inherited along a relation path (`ownership.type: Inherited`). */
  inheritingBlueprints(): Promise<Blueprint[]>
  getBlueprint(identifier: string): Promise<Blueprint | undefined>
  putBlueprint(blueprint: Blueprint): Promise<void>
  deleteBlueprint(identifier: string): Promise<void>
}

/** Entities, their relations and searches over them. */
export interface EntityStore {
  getEntity(blueprint: string, identifier: string): Promise<StoredEntity | undefined>
  /** Which of these identifiers exist in the blueprint. */
  existingEntities(blueprint: string, identifiers: string[]): Promise<Set<string>>
  /** `targets` maps each relation of the entity's blueprint to its target blueprint. */
  putEntity(entity: StoredEntity, targets: Record<string, string>): Promise<void>
  deleteEntity(blueprint: string, identifier: string): Promise<void>
  /**
   * Stores `entity` (which no longer names the removed targets) and drops just those relation
   * rows: what deleted targets cost their source, whatever its other relations hold.
   */
  unlinkEntity(entity: StoredEntity, removed: RemovedTarget[]): Promise<void>
  countEntities(blueprint: string): Promise<number>
  /**
   * Entities matching `filter` (of one blueprint, or all), at most `limit` of them, in a stable
   * order that survives updates and resumes after `after` (the `seq` of the last row seen). Each
   * comes as its stored JSON text.
   */
  searchEntities(options: {
    blueprint?: string | undefined
    filter: EntityFilter
    after?: number
    limit: number
  }): Promise<EntityText[]>
  /** Entities whose relations point at this one. */
  dependents(target: EntityRef): Promise<Dependent[]>
  /** The entities this one's relations point at. */
  relatedTo(source: EntityRef): Promise<EntityRef[]>
}

/** Actions (automations included) and their permissions. */
export interface ActionStore {
  listActions(): Promise<Action[]>
  /** The actions that are automations (`trigger.type: automation`), in the order of listActions. */
  listAutomations(): Promise<Action[]>
  getAction(identifier: string): Promise<Action | undefined>
  putAction(action: Action): Promise<void>
  /** Deleting the action deletes its permissions too. */
  deleteAction(identifier: string): Promise<void>
  getActionPermissions(identifier: string): Promise<ActionPermissions | undefined>
  putActionPermissions(identifier: string, permissions: ActionPermissions): Promise<void>
}

/** Runs, their logs and their approvals. */
export interface RunStore {
  getRun(id: string): Promise<Run | undefined>
  putRun(run: Run): Promise<void>
  /** Newest first. */
  listRuns(filter: RunFilter): Promise<Run[]>
  addRunLog(log: RunLog): Promise<void>
  /** Oldest first. */
  runLogs(runId: string, offset: number, limit: number): Promise<RunLog[]>
  /** An approver's decision replaces their earlier one. */
  putApproval(approval: Approval): Promise<void>
  /** In the order they were first made. */
  runApprovals(runId: string): Promise<Approval[]>
}

/**
 * A lease on background work (pending deliveries, automation events) for one portal process, so
 * that processes sharing a store never do the same work at once: `owner` names the process, and
 * the work is another's to take once `until` (epoch ms) has passed without a renewal.
 */
export interface Lease {
  owner: string
  until: number
}

/** Deliveries of runs to their backends, and the agent queue. */
export interface DispatchStore {
  /** Writing a delivery's new state (done, queued, a retry) also ends any lease on it. */
  putDispatch(dispatch: Dispatch): Promise<void>
  getDispatch(runId: string): Promise<Dispatch | undefined>
  /**
   * Atomically leases up to `limit` pending deliveries due by `now` that no live lease holds
   * (never leased, released, or lapsed before `now`), oldest first. (PostgreSQL: FOR UPDATE SKIP LOCKED.)
   */
  claimDueDeliveries(claim: Lease & {now: number; limit: number}): Promise<Dispatch[]>
  /**
   * Atomically claims up to `limit` queued runs (and claimed ones whose claim ran out), oldest
   * first, until `until`: no two callers get the same run while its claim lives. Dispatches of
   * runs that have ended meanwhile are closed instead. (PostgreSQL: FOR UPDATE SKIP LOCKED.)
   */
  claimDispatches(claim: {
    now: number
    limit: number
    until: number
    installationId: string
    /** Only runs whose payload is of this invocation type (Port's agent asks for WEBHOOK). */
    invocationMethod?: string | undefined
    /** Run ids to leave alone. */
    exclude?: string[] | undefined
  }): Promise<Dispatch[]>
  /** When the next pending delivery can be claimed (epoch ms): due, and any lease on it lapsed. */
  nextDispatchAt(): Promise<number | undefined>
}

/** The leases of background work in flight (see Lease). */
export interface LeaseStore {
  /** Extends `owner`'s leases on these deliveries (by run id) and automation events (by seq). */
  renewLeases(lease: Lease & {deliveries: string[]; events: number[]}): Promise<void>
  /**
   * Ends every lease `owner` holds (a process that stops), so that other processes take the work
   * at once rather than when the leases lapse; every lease of anyone when `owner` is undefined (a
   * store that one process serves, as it starts: leases left in it are a dead process's).
   */
  releaseLeases(owner?: string): Promise<void>
}

/** Automation events waiting for their conditions to be evaluated. */
export interface AutomationEventStore {
  /** Queued in the transaction that caused the event, so a crash cannot lose it. */
  queueAutomationEvent(event: Omit<AutomationEvent, 'seq'>): Promise<void>
  /**
   * Atomically leases up to `limit` events that no live lease holds, oldest first: each is
   * evaluated by one process (PostgreSQL: FOR UPDATE SKIP LOCKED).
   */
  claimAutomationEvents(claim: Lease & {now: number; limit: number}): Promise<AutomationEvent[]>
  /** In the write that creates the event's run, if any; false when it was gone already. */
  deleteAutomationEvent(seq: number): Promise<boolean>
}

/** The audit log. */
export interface AuditStore {
  /** Appends audit records (in the write that made the changes); the oldest beyond a cap are dropped. */
  addAudits(records: AuditRecord[]): Promise<void>
  /** Audit records matching every given filter, newest first. */
  audits(filter: AuditFilter): Promise<AuditRecord[]>
}

/** Timers of `format: timer` properties. */
export interface TimerStore {
  /** The timers of an entity become exactly these (a changed expiry may fire again). */
  setTimers(blueprint: string, entity: string, timers: Timer[]): Promise<void>
  /** Atomically marks up to `limit` unfired timers due by `now` fired and returns them, soonest first. */
  fireDueTimers(now: number, limit: number): Promise<Timer[]>
  nextTimerAt(): Promise<number | undefined>
}

/** When an agent last asked the queue for runs (epoch ms). */
export interface AgentPoll {
  installationId: string
  at: number
}

/**
 * What the processes on one database keep together beside the data, where each would otherwise
 * keep its own in memory. Neither call runs in a write transaction, so neither waits behind writes.
 */
export interface SharedState {
  /**
   * Counts one request of `caller` in the window ending at `windowEnds` (epoch ms) and returns the
   * window's count so far, this request included. Windows long over by `now` are dropped.
   */
  countRequest(caller: string, windowEnds: number, now: number): Promise<number>
  /** Records an agent's poll (an earlier one never replaces a later one); keeps the `keep` most recent. */
  recordAgentPoll(poll: AgentPoll, keep: number): Promise<void>
  /** The most recent polls, newest first. */
  agentPolls(limit: number): Promise<AgentPoll[]>
}

/**
 * A web view sign-in link or browser session as stored: the SHA-256 of its token, never the token,
 * so that reading the database signs no one in.
 */
export interface WebSessionRow {
  tokenHash: string
  clientId: string
  /** Epoch ms. */
  expiresAt: number
}

/**
 * The web view's one-time sign-in links and browser sessions, kept with the rest of the portal so
 * that every process on the store honours them and a restart keeps them. Both end with their
 * credential (deleting it deletes them).
 */
export interface WebSessionStore {
  /** Stores a link, unless its credential is gone. */
  putWebLink(link: WebSessionRow): Promise<void>
  /** Deletes a link and gives its credential's id if it was unexpired: of callers racing on one link, one gets it. */
  takeWebLink(tokenHash: string, now: number): Promise<string | undefined>
  /** Stores a session, unless its credential is gone. */
  putWebSession(session: WebSessionRow): Promise<void>
  /** The session, unless it expired by `now`. */
  getWebSession(tokenHash: string, now: number): Promise<WebSessionRow | undefined>
  deleteWebSession(tokenHash: string): Promise<void>
  /** Deletes the links and sessions expired by `now` (an index range, whatever the table holds). */
  pruneWebSessions(now: number): Promise<void>
}

/**
 * Everything the portal persists. Methods are async so that a networked store (PostgreSQL for a
 * shared team portal) can implement the same contract; the SQLite store answers synchronously.
 * Every write request runs inside one `transaction`.
 */
export interface Store
  extends
    CredentialStore,
    BlueprintStore,
    EntityStore,
    ActionStore,
    RunStore,
    DispatchStore,
    AutomationEventStore,
    LeaseStore,
    AuditStore,
    TimerStore,
    WebSessionStore {
  transaction<T>(work: () => Promise<T>): Promise<T>
  close(): Promise<void>
  /**
   * A store that several processes share calls `listener` with the id of every run changed by
   * any of them, once that change has committed, so that watchers wake wherever they wait.
   */
  watchRuns?(listener: (runId: string) => void): void
  /**
   * A store that several processes share calls `listener` when another process released leased
   * work (see releaseLeases), and after its notifications were interrupted, so that background
   * work looks again at once.
   */
  watchWork?(listener: () => void): void
  /** A store that several processes share keeps their request counts and agent polls here. */
  readonly shared?: SharedState
}
