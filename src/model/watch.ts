import type {Run} from './port.js'

/** What following a run reports, in order; with --json each is one line (the CLI's contract). */
export type WatchEvent =
  | {event: 'status'; status: Run['status']; statusLabel: string | null; link: string[]; summary?: string | undefined}
  | {event: 'approval'; status: 'WAITING_FOR_APPROVAL'}
  | {event: 'log'; message: string; createdAt: string}
  | {event: 'reconnecting'; error: string}
  /** The run waits for an agent and none has polled lately (embedded portal); `lastPollAt` null: never. */
  | {event: 'no_agent'; lastPollAt: string | null}
  | {event: 'finished'; status: Run['status']; run: Run}

/** What followRun shows the run on (io/run-view.ts on a terminal or as JSON lines). */
export interface RunView {
  emit(event: WatchEvent): void
  start(): void
  stop(): void
  interrupted(): never
}
