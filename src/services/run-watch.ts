import type {PortClient} from '../api/port-client.js'
import {isFinal, type Run, type RunLog} from '../model/port.js'
import {ExitCode, IdpError} from '../errors.js'
import type {RunView, WatchEvent} from '../model/watch.js'
import {summaryLine} from './failure.js'
import {systemClock, type Clock} from '../shared/when.js'

export interface WatchOptions {
  client: PortClient
  runId: string
  /** Give up watching (the run goes on) after this long. */
  timeoutMs?: number | undefined
  onEvent: (event: WatchEvent) => void
  sleep?: (ms: number) => Promise<void>
  clock?: Clock
}

export interface WatchResult {
  run: Run
  outcome: 'finished' | 'timeout'
  /** Requests made, for the benchmark. */
  requests: number
}

/** A run waiting this long for an agent makes the watcher ask whether any agent is polling. */
const AGENT_CHECK_AFTER_MS = 10_000
/** An agent that polled within this long is taken to be running. */
const AGENT_ALIVE_MS = 30_000

/** How long the embedded portal may hold a GET until the run changes (Port answers at once). */
const HOLD_SECONDS = 20
/** Polling steps against a portal that answers at once: 1 s while the run changes, up to 5 s when idle. */
const INTERVALS = [1000, 1000, 1500, 2000, 3000, 5000]

const links = (run: Run) => (Array.isArray(run.link) ? run.link : run.link ? [run.link] : [])

/**
 * Follows a run to a terminal state, reporting each status change and each log line once (logs
 * are paged by offset and deduplicated by id). Every request asks the portal to hold its answer
 * until the run changes and to bring new log lines along; against Port, which answers at once
 * and sends no logs along, the interval adapts instead (1 s while the run changes, up to 5 s when
 * it is idle). Errors are retried with backoff, and the real status is fetched again after one.
 */
export async function watchRun(options: WatchOptions): Promise<WatchResult> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)))
  const clock = options.clock ?? systemClock
  const now = () => clock().getTime()
  const deadline = options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : now() + options.timeoutMs
  const seenLogs = new Set<string>()
  let offset = 0
  let requests = 0
  let last: Run | undefined
  let idle = 0
  let failures = 0
  let pendingSince: number | undefined
  let agentChecked = false
  /** Once a run has waited a while for an agent: says so when none has polled lately. */
  const checkAgents = async (run: Run) => {
    if (run.status !== 'IN_PROGRESS' || !run.pendingExecution) {
      pendingSince = undefined
      return
    }
    pendingSince ??= now()
    if (agentChecked || now() - pendingSince < AGENT_CHECK_AFTER_MS) return
    agentChecked = true
    const agents = await options.client.runs.agents().catch(() => undefined)
    if (!agents) return
    const latest = agents.map((agent) => Date.parse(agent.lastPollAt)).sort((a, b) => b - a)[0]
    if (latest === undefined || now() - latest > AGENT_ALIVE_MS)
      options.onEvent({event: 'no_agent', lastPollAt: latest === undefined ? null : new Date(latest).toISOString()})
  }

  const take = (page: RunLog[]) => {
    offset += page.length
    for (const log of [...page].sort((a, b) => a.createdAt.localeCompare(b.createdAt))) {
      if (seenLogs.has(log.id)) continue
      seenLogs.add(log.id)
      options.onEvent({createdAt: log.createdAt, event: 'log', message: log.message})
    }
    return page.length
  }
  const readLogs = async (id: string) => {
    for (;;) {
      requests++
      if (take(await options.client.runs.logs(id, offset)) < 50) return
    }
  }
  // Whether the portal holds a request until the run changes (the embedded portal) or answers at
  // once (Port): learnt from a held request that came back without a change.
  let holds: boolean | undefined

  for (;;) {
    const started = now()
    try {
      // While the agent check is due, hold no longer than until it is.
      const checkIn = pendingSince !== undefined && !agentChecked ? AGENT_CHECK_AFTER_MS / 1000 : HOLD_SECONDS
      const wait = Math.max(0, Math.min(HOLD_SECONDS, checkIn, Math.floor((deadline - started) / 1000)))
      const fetched = await options.client.runs.get(options.runId, {
        logOffset: offset,
        ...(last && wait > 0 ? {since: last.updatedAt, wait} : {}),
      })
      requests++
      failures = 0
      const {idpLogs, ...run} = fetched
      const elapsed = now() - started
      const changed = !last || run.updatedAt !== last.updatedAt || run.status !== last.status
      if (changed) {
        // Logs first: they usually lead up to the status they arrive with.
        if (!idpLogs || take(idpLogs) === 50) await readLogs(run.id)
        report(last, run, options.onEvent)
        idle = 0
      } else {
        if (last && wait > 0) holds = elapsed >= wait * 900
        idle = Math.min(idle + 1, INTERVALS.length - 1)
      }
      last = run
      await checkAgents(run)
      if (isFinal(run)) {
        options.onEvent({event: 'finished', run, status: run.status})
        return {outcome: 'finished', requests, run}
      }
      if (now() >= deadline) return {outcome: 'timeout', requests, run}
      // A portal that holds requests already waited; one that answers at once (Port) is polled.
      const pause = holds === false ? INTERVALS[idle]! - elapsed : 0
      if (pause > 0) await sleep(Math.min(pause, Math.max(0, deadline - now())))
    } catch (error) {
      if (error instanceof IdpError && (error.exitCode === 4 || error.exitCode === 5)) throw error
      failures++
      options.onEvent({error: (error as Error).message, event: 'reconnecting'})
      if (last && now() >= deadline) return {outcome: 'timeout', requests, run: last}
      await sleep(Math.min(30_000, 500 * 2 ** Math.min(failures, 6)))
    }
  }
}

function report(previous: Run | undefined, run: Run, emit: (event: WatchEvent) => void): void {
  const statusChanged =
    !previous ||
    previous.status !== run.status ||
    previous.statusLabel !== run.statusLabel ||
    previous.summary !== run.summary ||
    JSON.stringify(links(previous)) !== JSON.stringify(links(run))
  if (!statusChanged) return
  if (run.status === 'WAITING_FOR_APPROVAL' && previous?.status !== run.status)
    emit({event: 'approval', status: run.status})
  emit({
    event: 'status',
    link: links(run),
    status: run.status,
    statusLabel: run.statusLabel ?? null,
    summary: run.summary,
  })
}

/**
 * Watches a run to its end on `view`, then throws the error whose exit code tells the outcome
 * (FAILURE 9, DECLINED 10, timeout 11). Ctrl-C detaches (exit 130).
 */
export async function followRun(
  run: Run,
  options: {client: PortClient; view: RunView; timeoutMs?: number | undefined},
): Promise<WatchResult> {
  const {view} = options
  const onInterrupt = () => view.interrupted()
  process.once('SIGINT', onInterrupt)
  view.start()
  try {
    const result = await watchRun({
      client: options.client,
      onEvent: view.emit,
      runId: run.id,
      timeoutMs: options.timeoutMs,
    })
    if (result.outcome === 'timeout') {
      throw new IdpError(`Stopped watching after the timeout; run ${run.id} is still ${result.run.status}.`, {
        code: 'watch_timeout',
        exitCode: ExitCode.WATCH_TIMEOUT,
        hint: `Follow it again with: idp run watch ${run.id}`,
      })
    }
    if (result.run.status === 'FAILURE') {
      throw new IdpError(`Run ${run.id} failed${result.run.summary ? `: ${summaryLine(result.run.summary)}` : '.'}`, {
        code: 'run_failed',
        exitCode: ExitCode.RUN_FAILED,
      })
    }
    if (result.run.status === 'DECLINED') {
      const reason = result.run.approval?.description ? `: ${result.run.approval.description}` : '.'
      throw new IdpError(`Run ${run.id} was declined${reason}`, {code: 'run_declined', exitCode: ExitCode.RUN_DECLINED})
    }
    return result
  } finally {
    view.stop()
    process.off('SIGINT', onInterrupt)
  }
}
