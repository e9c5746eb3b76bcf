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
  timer: NodeJS.Timeout
  expression: string
  input: unknown
}

/**
 * jq in a worker thread, for the portal: a runaway expression (`def f: f; f`, `range(1e12)`) is
 * stopped after `timeoutMs` by terminating the worker, which is then replaced, so no request can
 * stall the server. Calls are queued on one worker; evaluations take well under a millisecond.
 */
export class WorkerJq implements JqEngine {
  private worker: Worker | undefined
  private readonly pending = new Map<number, Pending>()
  private next = 0

  constructor(private readonly timeoutMs = 2000) {}

  first(expression: string, input: unknown): Promise<unknown> {
    const path = plainPath(expression, input)
    if (path) return Promise.resolve(path.value)
    const worker = this.spawn()
    const id = this.next++
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.timeout(id), this.timeoutMs)
      this.pending.set(id, {expression, input, reject, resolve, timer})
      worker.postMessage({expression, id, input: input ?? null})
    })
  }

  async close(): Promise<void> {
    const worker = this.worker
    this.worker = undefined
    await worker?.terminate()
  }

  private spawn(): Worker {
    if (this.worker) return this.worker
    const worker = new Worker(workerFile())
    worker.unref()
    worker.on(
      'message',
      ({error, id, value}: {id: number; value?: unknown; error?: {kind: JqEvalError['kind']; message: string}}) => {
        const call = this.pending.get(id)
        if (!call) return
        this.pending.delete(id)
        clearTimeout(call.timer)
        if (error) call.reject(new JqEvalError(error.kind, error.message, call.expression))
        else call.resolve(value)
      },
    )
    worker.on('error', (error) => this.fail(worker, error.message))
    worker.on('exit', () => this.fail(worker, 'the jq worker stopped'))
    this.worker = worker
    return worker
  }

  /** The call that timed out fails; the worker is replaced and calls queued behind it are retried. */
  private timeout(id: number): void {
    const call = this.pending.get(id)
    if (!call) return
    this.pending.delete(id)
    call.reject(new JqEvalError('timeout', `jq took longer than ${this.timeoutMs} ms and was stopped`, call.expression))
    const stuck = this.worker
    this.worker = undefined
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
    for (const [id, call] of this.pending) {
      clearTimeout(call.timer)
      call.reject(new JqEvalError('resource', message, call.expression))
      this.pending.delete(id)
    }
  }
}
