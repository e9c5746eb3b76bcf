import {EventEmitter} from 'node:events'

/**
 * Tells waiting requests that a run changed. `GET /v1/actions/runs/{id}?idp_wait=S&idp_since=T`
 * (an embedded-portal extension that Port ignores) answers as soon as the run's updatedAt differs
 * from T, or after S seconds; with `idp_log_offset=N` the run carries its log lines from N as
 * `idpLogs`. Watchers see changes at once, with one request per change.
 */
export class RunEvents {
  private readonly emitter = new EventEmitter().setMaxListeners(0)

  changed(runId: string): void {
    this.emitter.emit(runId)
  }

  wait(runId: string, ms: number): Promise<void> {
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
