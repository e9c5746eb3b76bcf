import {existsSync} from 'node:fs'
import {Worker} from 'node:worker_threads'

import {JqEvalError, plainPath, type JqEngine} from './engine.js'

/** The compiled worker beside this file; from the TypeScript sources (tests), the built one. */
function workerFile(): URL {
  const beside = new URL('./worker.js', import.meta.url)
  if (existsSync(beside)) return beside
  const built = new URL('../../dist/jq/worker.js', import.meta.url)
  if (existsSync(built)) return built
  throw new Error('The jq worker (dist/jq/worker.js) is missing: run `npm run build` first.')
}

interface Pending {
  resolve: (value: unknown) => void
  reject: (error: Error) => void
  /** Set once the worker is ready (its start-up is not the expression's time). */
  timer?: NodeJS.Timeout
  expression: string
  input: unknown
}

/** How long a new worker may take to load jq before its calls fail. */
const START_TIMEOUT_MS = 30_000

type WorkerMessage = {ready: true} | {id: number; value?: unknown; error?: {kind: JqEvalError['kind']; message: string}}

/**
 * jq in a worker thread, for the portal: a runaway expression (`def f: f; f`, `range(1e12)`) is
 * stopped after `timeoutMs` by terminating the worker, which is then replaced, so no request can
 * stall the server. Calls are queued on one worker; evaluations take well under a millisecond.
 */
export class WorkerJq implements JqEngine {
  private worker: Worker | undefined
  private ready = false
  private startTimer: NodeJS.Timeout | undefined
  private readonly pending = new Map<number, Pending>()
  private next = 0

  constructor(private readonly timeoutMs = 2000) {}

  first(expression: string, input: unknown): Promise<unknown> {
    const path = plainPath(expression, input)
    if (path) return Promise.resolve(path.value)
    const worker = this.spawn()
    const id = this.next++
    return new Promise((resolve, reject) => {
      const call: Pending = {expression, input, reject, resolve}
      if (this.ready) call.timer = setTimeout(() => this.timeout(id), this.timeoutMs)
      this.pending.set(id, call)
      worker.postMessage({expression, id, input: input ?? null})
    })
  }

  async close(): Promise<void> {
    const worker = this.worker
    this.worker = undefined
    clearTimeout(this.startTimer)
    await worker?.terminate()
  }

  private spawn(): Worker {
    if (this.worker) return this.worker
    const worker = new Worker(workerFile())
    worker.unref()
    this.ready = false
    this.startTimer = setTimeout(() => void worker.terminate(), START_TIMEOUT_MS)
    this.startTimer.unref()
    worker.on('message', (message: WorkerMessage) => {
      if ('ready' in message) return this.started(worker)
      const {error, id, value} = message
      const call = this.pending.get(id)
      if (!call) return
      this.pending.delete(id)
      clearTimeout(call.timer)
      if (error) call.reject(new JqEvalError(error.kind, error.message, call.expression))
      else call.resolve(value)
    })
    worker.on('error', (error) => this.fail(worker, error.message))
    worker.on('exit', () => this.fail(worker, 'the jq worker stopped'))
    this.worker = worker
    return worker
  }

  /** jq is loaded: the time limits of the calls already sent start now. */
  private started(worker: Worker): void {
    if (this.worker !== worker) return
    clearTimeout(this.startTimer)
    this.ready = true
    for (const [id, call] of this.pending) call.timer ??= setTimeout(() => this.timeout(id), this.timeoutMs)
  }

  /** The call that timed out fails; the worker is replaced and calls queued behind it are retried. */
  private timeout(id: number): void {
    const call = this.pending.get(id)
    if (!call) return
    this.pending.delete(id)
    call.reject(new JqEvalError('timeout', `jq took longer than ${this.timeoutMs} ms and was stopped`, call.expression))
    const stuck = this.worker
    this.worker = undefined
    clearTimeout(this.startTimer)
    const queued = [...this.pending.entries()]
    this.pending.clear()
    void stuck?.terminate()
    for (const [, waiting] of queued) {
      clearTimeout(waiting.timer)
      this.first(waiting.expression, waiting.input).then(waiting.resolve, waiting.reject)
    }
  }

  private fail(worker: Worker, message: string): void {
    if (this.worker !== worker) return
    this.worker = undefined
    clearTimeout(this.startTimer)
    for (const [id, call] of this.pending) {
      clearTimeout(call.timer)
      call.reject(new JqEvalError('resource', message, call.expression))
      this.pending.delete(id)
    }
  }
}
