import type {PortClient} from '../api/port-client.js'
import type {Run} from '../api/types.js'
import {ExitCode, IdpError} from '../errors.js'
import {watchRun, type WatchEvent, type WatchResult} from '../services/run-watch.js'
import type {IO} from './output.js'

/** Port's web page for a run, when the API is Port's (api.port.io, api.getport.io, US too). */
export function runUrl(apiUrl: string, runId: string): string | undefined {
  const host = /^https:\/\/api\.((?:us\.)?(?:get)?port\.io)$/.exec(apiUrl)?.[1]
  return host ? `https://app.${host}/organization/run?runId=${runId}` : undefined
}

const paint = (io: IO, status: string, text: string) => {
  const {green, magenta, red, yellow} = io.color
  const color = {DECLINED: red, FAILURE: red, IN_PROGRESS: yellow, SUCCESS: green, WAITING_FOR_APPROVAL: magenta}[
    status
  ]
  return color ? color(text) : text
}

export interface FollowOptions {
  io: IO
  json: boolean
  client: PortClient
  apiUrl: string
  timeoutMs?: number | undefined
}

/**
 * Prints a run as it happens — status changes, links, summary and each log line once — until it
 * ends, then throws the error whose exit code tells the outcome (FAILURE 9, DECLINED 10, timeout
 * 11). With --json every event is one JSON line on stdout. Ctrl-C detaches (exit 130).
 */
export async function followRun(run: Run, options: FollowOptions): Promise<WatchResult> {
  const {io, json} = options
  const spinner =
    !json && io.stderrIsTTY ? (await import('ora')).default({discardStdin: false, stream: process.stderr}) : undefined
  const line = (write: (text: string) => void, text: string) => {
    spinner?.clear()
    write(text)
    spinner?.render()
  }
  const started = Date.parse(run.createdAt) || Date.now()
  let shownLinks = ''
  let shownSummary: string | undefined
  const emit = (event: WatchEvent | {event: 'detached'; runId: string}) => {
    if (json)
      return io.out(
        JSON.stringify(event.event === 'finished' ? {event: 'finished', run: event.run, status: event.status} : event),
      )
    switch (event.event) {
      case 'status': {
        const label = event.statusLabel ? ` · ${event.statusLabel}` : ''
        line(io.err, `${paint(io, event.status, `● ${event.status}`)}${label}`)
        // Links and summary only when they change, not with every status line.
        if (event.link.join('\n') !== shownLinks) for (const link of event.link) line(io.err, `  ↗ ${link}`)
        if (event.summary && event.summary !== shownSummary) line(io.err, `  ${event.summary}`)
        shownLinks = event.link.join('\n')
        shownSummary = event.summary
        if (spinner) spinner.text = `${event.status.toLowerCase().replaceAll('_', ' ')}…`
        break
      }
      case 'approval':
        line(io.err, io.color.magenta(`⏸ waiting for approval — idp run approve ${run.id} (or decline)`))
        break
      case 'log':
        line(io.out, `${io.color.dim(event.createdAt.slice(11, 19))} ${event.message}`)
        break
      case 'reconnecting':
        line(io.err, io.color.dim(`connection problem (${event.error}); retrying`))
        break
      case 'finished': {
        spinner?.stop()
        const seconds = ((Date.parse(event.run.endedAt ?? '') || Date.now()) - started) / 1000
        const mark = event.status === 'SUCCESS' ? '✓' : '✗'
        io.err(paint(io, event.status, `${mark} ${event.status}`) + io.color.dim(` after ${seconds.toFixed(1)}s`))
        break
      }
      case 'detached':
        break
    }
  }

  const onInterrupt = () => {
    spinner?.stop()
    emit({event: 'detached', runId: run.id})
    io.err(`Stopped watching; the run goes on. Follow it again with: idp run watch ${run.id}`)
    process.exit(ExitCode.INTERRUPTED)
  }
  process.once('SIGINT', onInterrupt)
  spinner?.start('waiting…')
  try {
    const result = await watchRun({client: options.client, onEvent: emit, runId: run.id, timeoutMs: options.timeoutMs})
    if (result.outcome === 'timeout') {
      throw new IdpError(`Stopped watching after the timeout; run ${run.id} is still ${result.run.status}.`, {
        code: 'watch_timeout',
        exitCode: ExitCode.WATCH_TIMEOUT,
        hint: `Follow it again with: idp run watch ${run.id}`,
      })
    }
    if (result.run.status === 'FAILURE') {
      throw new IdpError(`Run ${run.id} failed${result.run.summary ? `: ${result.run.summary}` : '.'}`, {
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
    spinner?.stop()
    process.off('SIGINT', onInterrupt)
  }
}
