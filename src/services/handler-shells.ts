import {type ChildProcessWithoutNullStreams, spawn} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {createInterface} from 'node:readline'

/** One handler run: its command, the variables of this run, its stdin, and where its lines go. */
export interface HandlerJob {
  command: string
  env: Record<string, string>
  stdin: string
  onLine: (line: string) => void
}

/**
 * Long-lived `/bin/sh` processes, each running one handler at a time. A handler then costs a fork
 * of a small shell rather than of Node: a fork copies the parent's page tables, which held `idp
 * agent` near the host's Node spawn rate (about 120 a second on a slow host) where a shell forks
 * several hundred. Each handler runs in a subshell, so its `cd`, `exit` or variables end with it.
 */
export class HandlerShells {
  private readonly idle: HandlerShell[] = []

  /** `env`: what every handler inherits; a run's own variables come with its job. */
  constructor(private readonly env: NodeJS.ProcessEnv) {}

  /** The handler's exit status (null when it was killed); `started` gets a way to kill it. */
  async run(job: HandlerJob, started: (kill: () => void) => void): Promise<number | null> {
    const shell = this.idle.pop() ?? new HandlerShell(this.env)
    started(() => shell.kill())
    const code = await shell.run(job)
    if (shell.alive) this.idle.push(shell)
    return code
  }

  close(): void {
    for (const shell of this.idle.splice(0)) shell.close()
  }
}

class HandlerShell {
  private readonly child: ChildProcessWithoutNullStreams
  /** Ends each run's output on both streams; random, so no handler prints it by chance. */
  private readonly marker = `idp-handler-done-${randomBytes(12).toString('hex')}`
  private current:
    {job: HandlerJob; code?: number; errDone?: boolean; resolve: (code: number | null) => void} | undefined

  alive = true

  constructor(env: NodeJS.ProcessEnv) {
    // Its own process group, so that killing a handler kills whatever it started too.
    this.child = spawn('/bin/sh', [], {detached: true, env, stdio: ['pipe', 'pipe', 'pipe']})
    this.child.stdin.on('error', () => undefined)
    // The shell catches SIGHUP; what its subshells start gets the default (it ends). See ended().
    this.child.stdin.write("trap ':' HUP\n")
    createInterface({input: this.child.stdout}).on('line', (line) => this.line(line, 'out'))
    createInterface({input: this.child.stderr}).on('line', (line) => this.line(line, 'err'))
    this.child.on('close', () => {
      this.alive = false
      this.settle(null)
    })
  }

  run(job: HandlerJob): Promise<number | null> {
    const variables = Object.entries(job.env).map(([name, value]) => `${name}=${quote(value)}`)
    // A bare `export` would print the whole environment.
    const exports = variables.length > 0 ? `export ${variables.join(' ')}\n` : ''
    const {marker} = this
    return new Promise((resolve) => {
      this.current = {job, resolve}
      // The payload is a quoted here-document (nothing in it is expanded); `eval` keeps a
      // command's syntax errors inside the subshell.
      this.child.stdin.write(
        `(${exports}eval ${quote(job.command)}\n) <<'${marker}'\n${job.stdin}\n${marker}\n` +
          `echo "${marker} $?"; echo "${marker}" >&2\n`,
      )
    })
  }

  kill(): void {
    this.alive = false
    try {
      if (this.child.pid) process.kill(-this.child.pid, 'SIGTERM')
    } catch {
      // already gone
    }
  }

  close(): void {
    this.child.stdin.end()
  }

  private line(line: string, stream: 'out' | 'err'): void {
    const current = this.current
    if (!current) return
    const at = line.indexOf(this.marker)
    if (at < 0) return current.job.onLine(line)
    // Output that did not end its last line shares the marker's line.
    if (at > 0) current.job.onLine(line.slice(0, at))
    if (stream === 'out') current.code = Number(line.slice(at + this.marker.length + 1))
    else current.errDone = true
    if (current.code !== undefined && current.errDone) this.settle(current.code)
  }

  private settle(code: number | null): void {
    const current = this.current
    this.current = undefined
    if (current && code !== null) this.ended()
    current?.resolve(code)
  }

  /**
   * A handler's background processes outlive it in the shell's process group, and whatever they
   * print would land in the next run's log on this shell. A SIGHUP to the group ends them; the
   * shell itself catches it. (A process that ignores SIGHUP, as under nohup, is left running.)
   */
  private ended(): void {
    try {
      if (this.child.pid) process.kill(-this.child.pid, 'SIGHUP')
    } catch {
      // the group is gone
    }
  }
}

/** A shell word for any text: single-quoted, with each `'` closed, escaped and reopened. */
const quote = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`
