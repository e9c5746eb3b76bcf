import type {Run} from '../model/port.js'
import {ExitCode} from '../errors.js'
import type {RunView, WatchEvent} from '../model/watch.js'
import type {IO} from './output.js'
import {relativeTime} from './time.js'

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

/**
 * Shows a run as it happens — status changes, links, summary and each log line once — with a
 * spinner on a terminal; with `json` every event goes to it instead (one JSON line on stdout).
 */
export async function runView(
  run: Run,
  {io, json}: {io: IO; json?: ((event: unknown) => void) | undefined},
): Promise<RunView> {
  // A terminal that reports no width (some ptys, before their first resize) gets no spinner: ora
  // would work out an endless number of lines to clear.
  const spinner =
    !json && io.stderrIsTTY && (process.stderr.columns ?? 0) > 0
      ? (await import('ora')).default({discardStdin: false, stream: process.stderr})
      : undefined
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
      return json(event.event === 'finished' ? {event: 'finished', run: event.run, status: event.status} : event)
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
      case 'no_agent': {
        const when = event.lastPollAt ? ` (last poll ${relativeTime(event.lastPollAt, new Date())})` : ' yet'
        line(
          io.err,
          io.color.yellow(
            `No agent is polling this portal${when}; this run waits for one. Start it in another terminal: idp agent --handlers DIR (README: "Run backends").`,
          ),
        )
        break
      }
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

  return {
    emit,
    interrupted() {
      spinner?.stop()
      emit({event: 'detached', runId: run.id})
      io.err(`Stopped watching; the run goes on. Follow it again with: idp run watch ${run.id}`)
      process.exit(ExitCode.INTERRUPTED)
    },
    start: () => spinner?.start('waiting…'),
    stop: () => spinner?.stop(),
  }
}
