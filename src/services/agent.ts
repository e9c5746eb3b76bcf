import {accessSync, constants, existsSync, mkdtempSync, readdirSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join, parse} from 'node:path'

import {ApiError, UnreachableError} from '../api/errors.js'
import type {PortClient} from '../api/port-client.js'
import type {Run} from '../model/port.js'
import {didYouMean} from '../shared/suggest.js'
import {signWebhook} from '../verify.js'
import {failureLine} from './failure.js'
import {HandlerShells} from './handler-shells.js'

export interface AgentOptions {
  client: PortClient
  apiUrl: string
  /** The agent's own token: handlers get it where the portal has no run tokens (Port). */
  token: () => Promise<string>
  /** Signs webhooks the agent forwards (the client secret), as the portal does. */
  secret?: string | undefined
  installationId: string
  /** Action identifier → shell command. */
  handlers: Map<string, string>
  concurrency: number
  pollMs: number
  visibilityTimeoutMs: number
  log: (line: string) => void
  /** Extra environment for handlers (quickstart points them at its folders). */
  env?: Record<string, string>
  /**
   * HOME for handlers (and their XDG and idp config folders), so that an `idp` or tool they run
   * does not find the agent's saved profile. Default: a private folder made for this agent.
   */
  handlerHome?: string
  /** Stop after the queue is empty once (tests, cron). */
  once?: boolean
}

/** `--handler ACTION=COMMAND` flags and a folder of executables named after their actions. */
export function loadHandlers(flags: string[], dir: string | undefined): Map<string, string> {
  const handlers = new Map<string, string>()
  if (dir) {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      const parent = dirname(dir)
      const siblings = existsSync(parent)
        ? readdirSync(parent, {withFileTypes: true})
            .filter((entry) => entry.isDirectory())
            .map((entry) => join(parent, entry.name))
        : []
      throw new Error(
        `--handlers ${dir}: no such folder.${didYouMean(dir, siblings)} It names a folder of executables named after their actions (create_dev_env.sh).`,
      )
    }
    for (const entry of readdirSync(dir, {withFileTypes: true})) {
      if (!entry.isFile()) continue
      const path = join(dir, entry.name)
      try {
        accessSync(path, constants.X_OK)
      } catch {
        continue // not executable: a README, a helper module
      }
      handlers.set(parse(entry.name).name, JSON.stringify(path))
    }
  }
  for (const flag of flags) {
    const at = flag.indexOf('=')
    if (at <= 0) throw new Error(`--handler "${flag}" is not ACTION=COMMAND`)
    handlers.set(flag.slice(0, at), flag.slice(at + 1))
  }
  return handlers
}

/**
 * Handlers named after no action on the portal: almost always a typo, so each is named with the
 * closest action. (Only a warning: the action may be created after the agent starts.)
 */
export function unknownHandlers(handlers: Map<string, string>, actions: string[]): string[] {
  const known = new Set(actions)
  return [...handlers.keys()]
    .filter((name) => !known.has(name))
    .map(
      (name) => `No action "${name}" on the portal: its handler runs only once one exists.${didYouMean(name, actions)}`,
    )
}

/** How long a claim waits for more slots to free up when only a few are (ms). */
const CLAIM_GATHER_MS = 10

/**
 * The pull agent: claims queued runs from the portal (outbound only), runs each one's handler or
 * forwards its webhook inside the network, reports logs and the outcome, then acknowledges it.
 * A run whose claim runs out (the agent died) is handed out again; on stop, runs not finished
 * within the grace period are released at once.
 */
export class Agent {
  private readonly running = new Map<string, {run: Run; kill: () => void}>()
  private stopping = false
  private stopped: Promise<void> | undefined
  /** Whether the portal hands out run tokens; learnt from the first answer. */
  private runTokens = true
  private wake: (() => void) | undefined

  constructor(private readonly options: AgentOptions) {}

  async run(): Promise<void> {
    const {client, concurrency, log, pollMs} = this.options
    log(
      `Agent ${this.options.installationId} polling ${this.options.apiUrl} (handlers: ${[...this.options.handlers.keys()].join(', ') || 'none'})`,
    )
    let failures = 0
    const claimBatch = Math.max(1, Math.min(8, Math.floor(concurrency / 4)))
    while (!this.stopping) {
      const free = concurrency - this.running.size
      let claimed: Run[] = []
      let tokens: Map<string, string> | undefined
      if (free > 0) {
        try {
          claimed = await client.runs.claim(this.options.installationId, free, this.options.visibilityTimeoutMs)
          tokens = await this.handlerTokens(claimed)
          if (failures > 0) log(`Reconnected to ${this.options.apiUrl} after ${failures} failed polls`)
          failures = 0
        } catch (error) {
          // Claimed without tokens: back to the queue for the next poll rather than after the claim lapses.
          if (claimed.length > 0) await client.runs.release(claimed.map((run) => run.id)).catch(() => undefined)
          claimed = []
          failures++
          // The first failure and then every tenth, so a long outage does not flood the log.
          if (failures === 1 || failures % 10 === 0) log(`${pollFailure(error)}; retrying`)
        }
      }
      for (const run of claimed) this.start(run, tokens)
      if (this.options.once && claimed.length === 0 && this.running.size === 0) break
      if (claimed.length === 0 || free <= claimed.length) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, failures > 0 ? Math.min(30_000, pollMs * 2 ** failures) : pollMs)
          // A finished run frees a slot. When few are free, a moment more lets others finish, so
          // that one claim (and one token request) serves several runs rather than each.
          this.wake = () => {
            clearTimeout(timer)
            if (concurrency - this.running.size >= claimBatch) resolve()
            else setTimeout(resolve, CLAIM_GATHER_MS)
            this.wake = undefined
          }
        })
      }
    }
  }

  /** Stops claiming; waits up to `graceMs` for runs in flight, then releases the rest. */
  stop(graceMs: number): Promise<void> {
    this.stopped ??= this.shutdown(graceMs)
    return this.stopped
  }

  private async shutdown(graceMs: number): Promise<void> {
    this.stopping = true
    this.wake?.()
    const deadline = Date.now() + graceMs
    while (this.running.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
    await this.flushAcks()
    const left = [...this.running.values()]
    for (const {kill} of left) kill()
    if (left.length > 0) {
      await this.options.client.runs.release(left.map(({run}) => run.id)).catch(() => undefined)
      this.options.log(`Released ${left.length} unfinished runs for another agent`)
    }
    this.handlerShells?.close()
    if (this.home && !this.options.handlerHome) rmSync(this.home, {force: true, recursive: true})
  }

  /** `tokens`: the handlers' run tokens, where the portal makes them. */
  private start(run: Run, tokens: Map<string, string> | undefined): void {
    const handler = this.options.handlers.get(run.action.identifier)
    let killed = false
    let killHandler: (() => void) | undefined
    const kill = () => {
      killed = true
      killHandler?.()
    }
    this.running.set(run.id, {kill, run})
    const work = handler ? this.handle(run, handler, tokens, (stop) => (killHandler = stop)) : this.forward(run)
    void work
      .then(async (outcome) => {
        if (killed) return
        if (outcome) await this.report(run, outcome)
        this.ack(run.id)
      })
      .catch((error: unknown) => this.options.log(`Run ${run.id}: ${(error as Error).message}`))
      .finally(() => {
        this.running.delete(run.id)
        this.wake?.()
      })
  }

  /** Runs the handler: the payload on stdin, each output line a run log, the exit status the outcome. */
  private async handle(
    run: Run,
    command: string,
    tokens: Map<string, string> | undefined,
    started: (kill: () => void) => void,
  ) {
    const {client, log} = this.options
    const token = tokens ? tokens.get(run.id) : await this.options.token()
    if (token === undefined) {
      log(`Run ${run.id} ended before its handler started`)
      return undefined
    }
    log(`Run ${run.id} (${run.action.identifier}): ${command}`)
    const env = {IDP_ACTION: run.action.identifier, IDP_RUN_ID: run.id, IDP_TOKEN: token, PORT_RUN_ID: run.id}
    const payload = (run.payload as {body?: unknown} | undefined)?.body ?? run
    const tail: string[] = []
    let logging = Promise.resolve()
    const onLine = (line: string) => {
      tail.push(line)
      if (tail.length > 50) tail.shift()
      // Sequential, so the run's log keeps the handler's order.
      logging = logging.then(() =>
        client.runs.addLog(run.id, {message: line}).then(
          () => undefined,
          () => undefined,
        ),
      )
    }
    const code = await this.shells().run({command, env, onLine, stdin: JSON.stringify(payload)}, started)
    await logging
    return code === 0
      ? ({status: 'SUCCESS'} as const)
      : ({status: 'FAILURE', summary: handlerFailure(code, tail)} as const)
  }

  /**
   * The shells handlers run in. Handlers get a bearer token, not the client secret the agent
   * logged in with, and a HOME of their own, so tools they run do not pick up the agent's saved
   * profile. They still run as the same OS user (README: "Handlers and secrets").
   */
  private handlerShells: HandlerShells | undefined
  private shells(): HandlerShells {
    if (this.handlerShells) return this.handlerShells
    const {IDP_CLIENT_SECRET: _a, PORT_CLIENT_SECRET: _b, ...inherited} = process.env
    const home = this.handlerHome()
    this.handlerShells = new HandlerShells({
      ...inherited,
      HOME: home,
      IDP_CACHE_DIR: join(home, '.cache', 'idp'),
      IDP_CONFIG_DIR: join(home, '.config', 'idp'),
      IDP_DATA_DIR: join(home, '.local', 'share', 'idp'),
      XDG_CACHE_HOME: join(home, '.cache'),
      XDG_CONFIG_HOME: join(home, '.config'),
      XDG_DATA_HOME: join(home, '.local', 'share'),
      ...this.options.env,
      IDP_API_URL: this.options.apiUrl,
      PORT_API_URL: this.options.apiUrl,
    })
    return this.handlerShells
  }

  private home: string | undefined
  private pendingAcks: string[] = []
  private ackTimer: NodeJS.Timeout | undefined
  private acking: Promise<void> = Promise.resolve()
  private handlerHome(): string {
    this.home ??= this.options.handlerHome ?? mkdtempSync(join(tmpdir(), 'idp-handler-home-'))
    return this.home
  }

  /**
   * Tokens for a claimed batch's handlers, in one request. The embedded portal gives each handler
   * a token that ends with its run and cannot change the data model; Port has no such route, so
   * there (undefined) handlers get the agent's own (expiring) access token.
   */
  private async handlerTokens(runs: Run[]): Promise<Map<string, string> | undefined> {
    const handled = runs.filter((run) => this.options.handlers.has(run.action.identifier)).map((run) => run.id)
    if (!this.runTokens || handled.length === 0) return undefined
    try {
      return await this.options.client.runs.tokens(handled)
    } catch (error) {
      if (!(error instanceof ApiError) || ![403, 404, 405].includes(error.status)) throw error
      this.runTokens = false
      return undefined
    }
  }

  /** An agent webhook: call it inside the network, signed as the portal signs. */
  private async forward(run: Run) {
    const payload = run.payload as
      | {url?: string; method?: string; headers?: Record<string, string>; body?: unknown; synchronized?: boolean}
      | undefined
    if (!payload?.url)
      return {status: 'FAILURE', summary: `No handler for action "${run.action.identifier}" on this agent`} as const
    const body = payload.body === undefined ? undefined : JSON.stringify(payload.body)
    const headers = {
      'content-type': 'application/json',
      ...payload.headers,
      ...(this.options.secret ? signWebhook(body ?? '', this.options.secret) : {}),
    }
    await this.options.client.runs.addLog(run.id, {
      message: `The agent is sending ${payload.method ?? 'POST'} ${payload.url}`,
    })
    try {
      const response = await fetch(payload.url, {
        body,
        headers,
        method: payload.method ?? 'POST',
        signal: AbortSignal.timeout(30_000),
      })
      const ok = response.ok
      if (!ok)
        return {
          status: 'FAILURE',
          summary: `Failed to invoke the webhook with status code: ${response.status}.`,
        } as const
      return payload.synchronized ? ({status: 'SUCCESS'} as const) : undefined
    } catch (error) {
      return {status: 'FAILURE', summary: `Could not reach ${payload.url}: ${(error as Error).message}`} as const
    }
  }

  /** The outcome, unless the handler already ended the run itself. */
  private async report(run: Run, outcome: {status: 'SUCCESS' | 'FAILURE'; summary?: string}) {
    try {
      await this.options.client.runs.patch(run.id, {
        status: outcome.status,
        ...(outcome.summary ? {summary: outcome.summary} : {}),
      })
    } catch (error) {
      // 422: the handler ended the run itself, which is final.
      if (error instanceof ApiError && error.status === 422) return
      throw error
    }
    this.options.log(`Run ${run.id}: ${outcome.status}`)
  }

  /** Acknowledgements go in batches (one request per 50 runs or 20 ms), not one request a run. */
  private ack(runId: string): void {
    this.pendingAcks.push(runId)
    if (this.pendingAcks.length >= 50) void this.flushAcks()
    else this.ackTimer ??= setTimeout(() => void this.flushAcks(), 20)
  }

  private flushAcks(): Promise<void> {
    clearTimeout(this.ackTimer)
    this.ackTimer = undefined
    const runIds = this.pendingAcks.splice(0)
    if (runIds.length > 0) {
      this.acking = this.acking
        .then(() => this.options.client.runs.ack(runIds))
        .then(
          () => undefined,
          (error: unknown) =>
            this.options.log(`Could not acknowledge ${runIds.length} runs: ${(error as Error).message}`),
        )
    }
    return this.acking
  }
}

/** The handler's exit and the line of its output that says why (not the stack trace under it). */
function handlerFailure(code: number | null, tail: string[]): string {
  const why = failureLine(tail)
  return `The handler exited with ${code ?? 'a signal'}${why ? `: ${why}` : ''}`
}

/** "Cannot reach the portal at … (connection refused)", or what else went wrong, without a closing period. */
function pollFailure(error: unknown): string {
  const reason = (error instanceof Error ? error.message : String(error)).replace(/\.$/, '')
  return error instanceof UnreachableError ? reason : `Polling the portal failed: ${reason}`
}
