import {isFinal, OWNERSHIP_BLUEPRINT, type Action, type Run} from '../../model/port.js'
import type {JqEngine} from '../../jq/engine.js'
import {jsonOrText, textOf} from '../../shared/json.js'
import {signWebhook} from '../../verify.js'
import {ORG_ID} from '../audit.js'
import type {Entities} from '../entities-service.js'
import {PortalError} from '../http.js'
import {PortalNotice} from '../notice.js'
import type {Runs} from '../runs-service.js'
import {toWire} from '../search.js'
import type {Dispatch, Store} from '../store/store.js'
import {encodeSelfCallPart, selfCallProblem} from './self-call.js'
import {SerialWork} from './serial.js'
import {renderTemplate} from './templates.js'
import {systemClock, type Clock} from '../../shared/when.js'

export interface GitHubSettings {
  /** GitHub's REST API, or GitHub Enterprise's (`https://github.example.com/api/v3`). */
  apiUrl: string
  token?: string | undefined
  /** How often a followed workflow run is checked (ms). */
  pollMs?: number | undefined
}

export interface DispatcherOptions {
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
  clock?: Clock
  /** Delivery attempts for a webhook that is down or answers 5xx. */
  attempts?: number
  retryBaseMs?: number
  requestTimeoutMs?: number
}

const PORT_API_HOSTS = new Set(['api.port.io', 'api.getport.io', 'api.us.port.io', 'api.us.getport.io'])
const CONCURRENCY = 16
/** Failed checks in a row after which a followed GitHub workflow run is given up on. */
const FOLLOW_FAILURES = 10
/** How long after a dispatch the workflow run may take to appear. */
const FOLLOW_FIND_MS = 10 * 60_000

/** Context of a GitHub workflow being followed until it completes. */
interface GitHubFollow {
  github: {org: string; repo: string; workflow: string; since: string}
}

/**
 * Hands runs to their backends. Work is read from the store (`dispatches`), so it survives a
 * restart: a delivery that was cut short is made again (at least once), a queued run waits for an
 * agent, a GitHub workflow keeps being followed.
 */
export class Dispatcher {
  private readonly inFlight = new Set<string>()
  private timer: NodeJS.Timeout | undefined
  private readonly serial: SerialWork
  /** Cancels requests in flight when the portal stops (the work is redone on the next start). */
  private readonly abort = new AbortController()

  private readonly clock: Clock

  constructor(private readonly options: DispatcherOptions) {
    this.clock = options.clock ?? systemClock
    this.serial = new SerialWork(() => this.pump(), options.onError)
  }

  private get stopped(): boolean {
    return this.serial.stopped
  }

  private signal(): AbortSignal {
    return AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.options.requestTimeoutMs ?? 30_000)])
  }

  /** Looks for due work now (after each write, and when a retry falls due). */
  kick(): void {
    this.serial.kick()
  }

  async stop(): Promise<void> {
    const stopping = this.serial.stop() // first, so that aborted deliveries are not retried
    clearTimeout(this.timer)
    this.abort.abort()
    await stopping
    while (this.inFlight.size > 0) await new Promise((resolve) => setTimeout(resolve, 10))
  }

  private async pump(): Promise<void> {
    // Only as many as there are free slots, and none already in flight: this runs after every
    // delivery, so reading (and parsing) more would cost in proportion to the backlog.
    const free = CONCURRENCY - this.inFlight.size
    const due = free > 0 ? await this.options.store.dueDispatches(this.clock().getTime(), free, [...this.inFlight]) : []
    for (const dispatch of due) {
      this.inFlight.add(dispatch.runId)
      void this.process(dispatch)
        .catch((error: unknown) => this.options.onError(error))
        .finally(() => {
          this.inFlight.delete(dispatch.runId)
          this.kick()
        })
    }
    clearTimeout(this.timer)
    const next = await this.options.store.nextDispatchAt()
    if (next !== undefined && !this.stopped) {
      this.timer = setTimeout(() => this.kick(), Math.max(10, next - this.clock().getTime()))
      this.timer.unref()
    }
  }

  private async process(dispatch: Dispatch): Promise<void> {
    const {store} = this.options
    const run = await store.getRun(dispatch.runId)
    if (!run || isFinal(run)) return this.done(dispatch)
    const action = await store.getAction(run.action.identifier)
    if (!action) return this.fail(dispatch, `Action "${run.action.identifier}" no longer exists`)
    if ((dispatch.context as GitHubFollow | undefined)?.github) return this.followGitHub(dispatch, run)
    let context: Record<string, unknown>
    try {
      context = await this.context(run, action, dispatch)
    } catch (error) {
      return this.fail(dispatch, `Could not build the run's context: ${(error as Error).message}`)
    }
    const method = action.invocationMethod
    const render = (template: unknown) => renderTemplate(template, context, this.options.jq)
    try {
      switch (method.type) {
        case 'WEBHOOK':
          return await this.webhook(dispatch, run, method, render, context)
        case 'KAFKA': {
          const payload = {body: await render(method.payload ?? context), type: 'KAFKA'}
          return await this.queue(dispatch, run, payload)
        }
        case 'GITHUB':
          return await this.github(dispatch, run, method, render)
        case 'UPSERT_ENTITY':
          return await this.upsertEntity(dispatch, run, method, render)
        default:
          return await this.fail(
            dispatch,
            `The embedded portal cannot run ${method.type} backends; use WEBHOOK (optionally through idp agent), KAFKA (idp agent handlers), GITHUB or UPSERT_ENTITY`,
          )
      }
    } catch (error) {
      return this.fail(dispatch, `Could not render the invocation templates: ${(error as Error).message}`)
    }
  }

  /** Port's trigger data: what `{{ }}` templates see. */
  private async context(run: Run, action: Action, dispatch: Dispatch): Promise<Record<string, unknown>> {
    const {store} = this.options
    const entity =
      run.entity && run.blueprint ? await store.getEntity(run.blueprint.identifier, run.entity.identifier) : undefined
    const caller = await store.getCredential(run.createdBy)
    const inputs = action.trigger.userInputs?.properties ?? {}
    return {
      action: {
        blueprint: action.trigger.blueprintIdentifier ?? null,
        encryptedProperties: Object.keys(inputs).filter((name) => inputs[name]?.encryption),
        identifier: action.identifier,
      },
      entity: entity ? toWire(entity) : {},
      event: (dispatch.context as {event?: unknown} | undefined)?.event ?? null,
      inputs: run.properties,
      run: {id: run.id},
      trigger: {
        at: run.createdAt,
        by: {orgId: ORG_ID, user: {email: caller?.email ?? run.createdBy, id: run.createdBy}, userId: run.createdBy},
        operation: action.trigger.operation ?? null,
        origin: run.source === 'AUTOMATION' ? 'AUTOMATION' : 'API',
      },
    }
  }

  private async webhook(
    dispatch: Dispatch,
    run: Run,
    method: Action['invocationMethod'],
    render: (t: unknown) => Promise<unknown>,
    context: unknown,
  ) {
    const verb = String((await render(method.method ?? 'POST')) ?? 'POST').toUpperCase()
    const hasBody = method.body !== undefined || !['GET', 'DELETE'].includes(verb)
    const payload = {
      agent: Boolean(await render(method.agent ?? false)),
      body: hasBody ? await render(method.body ?? context) : undefined,
      headers: ((await render(method.headers ?? {})) ?? {}) as Record<string, unknown>,
      method: verb,
      synchronized: Boolean(await render(method.synchronized ?? false)),
      type: 'WEBHOOK',
      url: String(await render(method.url)),
    }
    if (payload.agent) return this.queue(dispatch, run, payload)
    const self = this.isSelfCall(payload.url)
    if (self) {
      payload.url = String(await renderTemplate(method.url, context, this.options.jq, {encodePart: encodeSelfCallPart}))
      const problem = selfCallProblem(payload.url)
      if (problem) return this.fail(dispatch, `Refused to call the portal's API at ${payload.url}: ${problem}`)
    }
    if (dispatch.attempts === 0)
      await this.options.write(() =>
        this.options.runs.record(run.id, {payload}, this.clock(), `Sending ${verb} ${payload.url}`),
      )

    const secret = (await this.options.store.adminCredential())?.clientSecret ?? ''
    const text = payload.body === undefined ? undefined : JSON.stringify(payload.body)
    const headers: Record<string, string> = {
      ...Object.fromEntries(
        Object.entries(payload.headers)
          .filter(([, value]) => value !== null && value !== undefined)
          .map(([key, value]) => [key, String(value)]),
      ),
      ...(text === undefined ? {} : {'content-type': 'application/json'}),
      ...signWebhook(text ?? '', secret),
      'user-agent': 'idp-portal',
    }
    // Port authenticates calls to its own API itself; so does the embedded portal.
    let target = payload.url
    if (self) {
      const url = new URL(payload.url)
      target = this.options.baseUrl() + url.pathname + url.search
      headers.authorization = `Bearer ${await this.options.selfCallToken(run)}`
    }

    let status: number
    let answer: unknown
    try {
      const response = await fetch(target, {body: text, headers, method: verb, signal: this.signal()})
      status = response.status
      const raw = await response.text()
      answer = jsonOrText(raw)
    } catch (error) {
      const reason =
        (error as Error).name === 'TimeoutError'
          ? `${payload.url} did not answer within ${(this.options.requestTimeoutMs ?? 30_000) / 1000}s`
          : `could not reach ${payload.url}: ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}`
      return this.retry(dispatch, run, reason)
    }
    if (status >= 500) return this.retry(dispatch, run, `${payload.url} answered HTTP ${status}`)
    const ok = status >= 200 && status < 300
    if (payload.synchronized || !ok) {
      await this.options.write(async () => {
        await this.options.runs.finish(
          run.id,
          {
            log: `The webhook answered HTTP ${status}`,
            response: answer,
            status: ok ? 'SUCCESS' : 'FAILURE',
            ...(ok ? {} : {summary: `The webhook answered HTTP ${status}`}),
          },
          this.clock(),
        )
        await this.options.store.putDispatch({...dispatch, state: 'done'})
      })
      return
    }
    await this.options.write(async () => {
      await this.options.runs.record(
        run.id,
        {},
        this.clock(),
        `Delivered: HTTP ${status}; waiting for the backend to report`,
      )
      await this.options.store.putDispatch({...dispatch, state: 'done'})
    })
  }

  /** A call to Port's API or to this portal's own: sent with the organisation's rights. */
  private isSelfCall(text: string): boolean {
    const url = safeUrl(text)
    return Boolean(url && (PORT_API_HOSTS.has(url.hostname) || url.origin === new URL(this.options.baseUrl()).origin))
  }

  /** Agent-bound runs wait in the queue that `idp agent` claims from. */
  private async queue(dispatch: Dispatch, run: Run, payload: Record<string, unknown>) {
    await this.options.write(async () => {
      await this.options.runs.record(
        run.id,
        {payload, pendingExecution: true},
        this.clock(),
        'Waiting for an agent to pick the run up',
      )
      await this.options.store.putDispatch({...dispatch, state: 'queued'})
    })
  }

  private async github(
    dispatch: Dispatch,
    run: Run,
    method: Action['invocationMethod'],
    render: (t: unknown) => Promise<unknown>,
  ) {
    const {apiUrl, token} = this.options.github
    if (!token) return this.fail(dispatch, 'No GitHub token: start the portal with IDP_PORTAL_GITHUB_TOKEN set')
    const org = String(await render(method.org))
    const repo = String(await render(method.repo))
    const workflow = String(await render(method.workflow))
    const {ref = 'main', ...inputs} = ((await render(method.workflowInputs ?? {})) ?? {}) as Record<string, unknown>
    const since = this.clock().toISOString()
    const path = `/repos/${enc(org)}/${enc(repo)}/actions/workflows/${enc(workflow)}/dispatches`
    let status: number
    try {
      const response = await fetch(apiUrl + path, {
        body: JSON.stringify({inputs: stringValues(inputs), ref}),
        headers: githubHeaders(token),
        method: 'POST',
        signal: this.signal(),
      })
      status = response.status
      if (status >= 400 && status < 500) {
        return this.fail(
          dispatch,
          `GitHub refused the workflow dispatch: HTTP ${status} ${(await response.text()).slice(0, 300)}`,
        )
      }
    } catch (error) {
      return this.retry(dispatch, run, `could not reach GitHub: ${(error as Error).message}`)
    }
    if (status >= 500) return this.retry(dispatch, run, `GitHub answered HTTP ${status}`)
    const report = (await render(method.reportWorkflowStatus ?? true)) !== false
    await this.options.write(async () => {
      await this.options.runs.record(
        run.id,
        {payload: {inputs, org, ref, repo, type: 'GITHUB', workflow}},
        this.clock(),
        `Dispatched workflow ${workflow} in ${org}/${repo} on ${ref}`,
      )
      await this.options.store.putDispatch(
        report
          ? {
              ...dispatch,
              attempts: 0,
              availableAt: this.clock().getTime() + (this.options.github.pollMs ?? 5000),
              context: {github: {org, repo, since, workflow}},
            }
          : {...dispatch, state: 'done'},
      )
    })
  }

  /**
   * reportWorkflowStatus: the newest dispatched run of the workflow since the dispatch, until it
   * completes. A check that fails (GitHub unreachable or answering an error) is logged on the run
   * and in the portal's log, and the run fails after FOLLOW_FAILURES of them in a row or when no
   * workflow run has appeared FOLLOW_FIND_MS after the dispatch.
   */
  private async followGitHub(dispatch: Dispatch, run: Run) {
    const {org, repo, since, workflow} = (dispatch.context as GitHubFollow).github
    const {apiUrl, token} = this.options.github
    const path = `/repos/${enc(org)}/${enc(repo)}/actions/workflows/${enc(workflow)}/runs?event=workflow_dispatch&created=${enc('>=' + since.slice(0, 19) + 'Z')}`
    const later = (attempts: number, log?: string) =>
      this.options.write(async () => {
        if (log) await this.options.runs.record(run.id, {}, this.clock(), log)
        await this.options.store.putDispatch({
          ...dispatch,
          attempts,
          availableAt: this.clock().getTime() + (this.options.github.pollMs ?? 5000),
        })
      })
    const failed = async (reason: string) => {
      const attempts = dispatch.attempts + 1
      this.options.onError(new PortalNotice(`run ${run.id}: following ${org}/${repo} ${workflow}: ${reason}`))
      if (attempts >= FOLLOW_FAILURES)
        return this.fail(dispatch, `Gave up following workflow ${workflow} after ${attempts} failed checks: ${reason}`)
      return later(
        attempts,
        `Checking workflow ${workflow} failed (${reason}); check ${attempts} of ${FOLLOW_FAILURES}`,
      )
    }
    let runs: {status: string; conclusion: string | null; html_url: string; created_at: string}[]
    try {
      const response = await fetch(apiUrl + path, {headers: githubHeaders(token ?? ''), signal: this.signal()})
      if (!response.ok) return await failed(`GitHub answered HTTP ${response.status}`)
      runs = ((await response.json()) as {workflow_runs?: typeof runs}).workflow_runs ?? []
    } catch (error) {
      if (this.stopped) return // cut short by the portal stopping: the next start follows it again
      return await failed(`could not reach GitHub: ${(error as Error).message}`)
    }
    const latest = runs
      .filter((item) => item.created_at >= since.slice(0, 19))
      .sort((a, b) => b.created_at.localeCompare(a.created_at))[0]
    if (!latest) {
      if (this.clock().getTime() - Date.parse(since) < FOLLOW_FIND_MS) return later(0)
      return this.fail(dispatch, `No run of workflow ${workflow} appeared in ${org}/${repo} after the dispatch`)
    }
    if (latest.status !== 'completed') return later(0)
    const ok = latest.conclusion === 'success'
    await this.options.write(async () => {
      await this.options.runs.finish(
        run.id,
        {
          link: [latest.html_url],
          log: `Workflow ${latest.conclusion}: ${latest.html_url}`,
          status: ok ? 'SUCCESS' : 'FAILURE',
          ...(ok ? {} : {summary: `The workflow ended ${latest.conclusion}`}),
        },
        this.clock(),
      )
      await this.options.store.putDispatch({...dispatch, state: 'done'})
    })
  }

  private async upsertEntity(
    dispatch: Dispatch,
    run: Run,
    method: Action['invocationMethod'],
    render: (t: unknown) => Promise<unknown>,
  ) {
    const blueprintId = String(await render(method.blueprintIdentifier))
    const mapping = (await render(method.mapping ?? {})) as Record<string, unknown>
    await this.options.write(async () => {
      try {
        const blueprint = await this.options.store.getBlueprint(blueprintId)
        if (!blueprint) throw new PortalError(404, 'not_found', `Blueprint "${blueprintId}" was not found`)
        // The portal writes with its own rights; ownership records stay out of a member's reach
        // (automations are an admin's, like the actions admins run).
        if (
          blueprintId === OWNERSHIP_BLUEPRINT &&
          run.source !== 'AUTOMATION' &&
          (await this.options.store.getCredential(run.createdBy))?.role !== 'admin'
        )
          throw new PortalError(403, 'forbidden', `Only admins' runs may write "${OWNERSHIP_BLUEPRINT}" entities`)
        // Credited to whoever started the run (or to the automation), and tied to the run.
        const {entity} = await this.options.entities.write(blueprint, mapping as never, {
          actor: run.createdBy,
          mode: 'merge',
          now: this.clock(),
          runId: run.id,
        })
        await this.options.runs.finish(
          run.id,
          {log: `Upserted ${blueprintId} entity "${entity.identifier}"`, status: 'SUCCESS'},
          this.clock(),
        )
      } catch (error) {
        await this.options.runs.finish(
          run.id,
          {
            log: `The entity upsert failed: ${(error as Error).message}`,
            status: 'FAILURE',
            summary: (error as Error).message,
          },
          this.clock(),
        )
      }
      await this.options.store.putDispatch({...dispatch, state: 'done'})
    })
  }

  /** A delivery that failed in a way worth retrying: again after a backoff, a bounded number of times. */
  private async retry(dispatch: Dispatch, run: Run, reason: string) {
    if (this.stopped) return // cut short by the portal stopping: the next start delivers it again
    const attempts = dispatch.attempts + 1
    const allowed = this.options.attempts ?? 4
    if (attempts >= allowed) return this.fail(dispatch, `Gave up after ${attempts} attempts: ${reason}`)
    const wait = (this.options.retryBaseMs ?? 1000) * 2 ** (attempts - 1)
    await this.options.write(async () => {
      await this.options.runs.record(
        run.id,
        {},
        this.clock(),
        `Attempt ${attempts} of ${allowed} failed (${reason}); retrying in ${(wait / 1000).toFixed(1)}s`,
      )
      await this.options.store.putDispatch({...dispatch, attempts, availableAt: this.clock().getTime() + wait})
    })
  }

  private async fail(dispatch: Dispatch, reason: string) {
    await this.options.write(async () => {
      await this.options.runs.finish(dispatch.runId, {log: reason, status: 'FAILURE', summary: reason}, this.clock())
      await this.options.store.putDispatch({...dispatch, state: 'done'})
    })
  }

  private async done(dispatch: Dispatch) {
    await this.options.write(() => this.options.store.putDispatch({...dispatch, state: 'done'}))
  }
}

const enc = encodeURIComponent
const githubHeaders = (token: string) => ({
  accept: 'application/vnd.github+json',
  authorization: `Bearer ${token}`,
  'user-agent': 'idp-portal',
  'x-github-api-version': '2022-11-28',
})
/** workflow_dispatch inputs are strings; objects go as JSON. */
const stringValues = (inputs: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(inputs).map(([key, value]) => [key, textOf(value)]))

function safeUrl(text: string): URL | undefined {
  try {
    return new URL(text)
  } catch {
    return undefined
  }
}
