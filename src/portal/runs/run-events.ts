import {EventEmitter} from 'node:events'

/**
 * Tells waiting requests that a run changed. `GET /v1/actions/runs/{id}?idp_wait=S&idp_since=T`
 * (an embedded-portal extension that Port ignores) answers as soon as the run's updatedAt differs
 * from T, or after S seconds; with `idp_log_offset=N` the run carries its log lines from N as
 * `idpLogs`. Watchers see changes at once, with one request per change.
 */
export class RunEvents {
  private readonly emitter = new EventEmitter().setMaxListeners(0)
  private stopping = false

  /** The portal is stopping: waits end now (and new ones at once), so long polls answer early. */
  get closed(): boolean {
    return this.stopping
  }

  close(): void {
    this.stopping = true
    for (const runId of this.emitter.eventNames()) this.emitter.emit(runId)
  }

  changed(runId: string): void {
    this.emitter.emit(runId)
  }

  wait(runId: string, ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve()
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        this.emitter.off(runId, done)
        resolve()
      }
      const timer = setTimeout(done, ms)
      this.emitter.on(runId, done)
    })
  }
}
