import {isFinal, type Run} from '../../model/port.js'
import type {RunEvents} from './run-events.js'
import type {Runs} from './runs.js'

/** The run, once it differs from `since` (its updatedAt) or `waitMs` have passed, or the portal stops. */
export async function waitForChange(
  runs: Runs,
  events: RunEvents,
  id: string,
  since: string | null,
  waitMs: number,
): Promise<Run> {
  const deadline = Date.now() + waitMs
  for (;;) {
    const run = await runs.get(id)
    const left = deadline - Date.now()
    if (since === null || run.updatedAt !== since || isFinal(run) || left <= 0 || events.closed) return run
    await events.wait(id, left)
  }
}
