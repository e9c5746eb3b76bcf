import type {IO} from './output.js'

/**
 * Phase progress on stderr: on a terminal one line rewritten in place (`entities 1200/10000`);
 * elsewhere one line when each phase completes, so CI logs stay short.
 */
export function phaseProgress(io: IO, enabled: boolean) {
  let current: string | undefined
  let last = 0
  let line = ''
  const settle = () => {
    if (current && io.stderrIsTTY) process.stderr.write('\n')
    current = undefined
  }
  return {
    update(phase: string, done: number, total: number) {
      if (!enabled) return
      if (phase !== current) settle()
      current = phase
      line = `${phase}: ${done}/${total}`
      if (io.stderrIsTTY) {
        const now = Date.now()
        if (now - last > 50 || done === total) {
          process.stderr.write(`\r\u001B[2K${line}`)
          last = now
        }
      } else if (done === total) {
        io.err(line)
        current = undefined
      }
    },
    done() {
      if (enabled) settle()
    },
  }
}
