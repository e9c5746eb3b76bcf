import type {JqEngine} from '../../../jq/engine.js'
import type {Action, Run} from '../../../model/port.js'
import type {Entities} from '../../catalog/entities.js'
import type {Runs} from '../../runs/runs.js'
import type {Dispatch, Store} from '../../store/store.js'

export interface GitHubSettings {
  /** GitHub's REST API, or GitHub Enterprise's (`https://github.example.com/api/v3`). */
  apiUrl: string
  token?: string | undefined
  /** How often a followed workflow run is checked (ms). */
  pollMs?: number | undefined
}

/** What the backends are given by the dispatcher that owns them. */
export interface BackendOptions {
  store: Store
  jq: JqEngine
  runs: Runs
  entities: Entities
  /** Runs a write transaction (and the automations it triggers); writes ready at once may share one. */
  write: <T>(work: () => Promise<T>) => Promise<T>
  /** This portal's own base URL, for webhooks that call Port's API. */
  baseUrl: () => string
  /** A bearer token for those calls: the organisation's rights, changes credited to the run's starter. */
  selfCallToken: (run: Run) => Promise<string>
  github: GitHubSettings
  onError: (error: unknown) => void
  requestTimeoutMs?: number
}

/** The dispatcher's side of a delivery: its clock, its abort signal, and its retry policy. */
export interface BackendKit extends BackendOptions {
  clock(): Date
  /** Ends a request when the portal stops or the request times out. */
  signal(): AbortSignal
  /** Whether the portal is stopping (work cut short is redone on the next start). */
  isStopped(): boolean
  /** A failure worth retrying: again after a backoff, a bounded number of times. */
  retry(dispatch: Dispatch, run: Run, reason: string): Promise<void>
  /** Ends the run as failed, with the reason in its log. */
  fail(dispatch: Dispatch, reason: string): Promise<void>
}

/** Renders one of the action's invocation templates against the run's context. */
export type Render = (template: unknown) => Promise<unknown>

export type InvocationMethod = Action['invocationMethod']
