import {execFileSync} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {until} from './http.js'
import {tempDir} from './portal.js'

/**
 * A real terminal for interactive tests: tmux runs the command in a pseudo-terminal, `type`
 * sends keystrokes, `screen` reads what a person would see.
 */
export function terminal(command: string, env: Record<string, string>) {
  const name = `idp-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`
  const exitFile = join(tempDir(), 'exit')
  const exports = Object.entries({...env, NO_COLOR: '1', TERM: 'xterm'})
    .map(([key, value]) => `${key}='${value.replaceAll("'", `'\\''`)}'`)
    .join(' ')
  // CI is unset on purpose: this is a person at a terminal.
  const shell = `env -u CI ${exports} ${command}; echo $? > ${exitFile}; sleep 30`
  execFileSync('tmux', ['new-session', '-d', '-s', name, '-x', '120', '-y', '50', shell])
  const screen = () => execFileSync('tmux', ['capture-pane', '-p', '-J', '-S', '-200', '-t', name], {encoding: 'utf8'})
  return {
    screen,
    waitFor(text: string | RegExp | ((screen: string) => boolean), timeoutMs = 15_000): Promise<string> {
      const matches = (shown: string) =>
        typeof text === 'string' ? shown.includes(text) : text instanceof RegExp ? text.test(shown) : text(shown)
      return until(
        () => {
          const shown = screen()
          return matches(shown) ? shown : undefined
        },
        timeoutMs,
        () => `Timed out waiting for ${String(text)}; the screen shows:\n${screen()}`,
      )
    },
    type(...keys: string[]) {
      for (const key of keys) {
        if (['Enter', 'Down', 'Up', 'Space', 'Tab', 'C-c'].includes(key))
          execFileSync('tmux', ['send-keys', '-t', name, key])
        else execFileSync('tmux', ['send-keys', '-t', name, '-l', '--', key])
      }
    },
    async exitCode(timeoutMs = 15_000): Promise<number> {
      const written = await until(
        () => (existsSync(exitFile) && readFileSync(exitFile, 'utf8').trim()) || undefined,
        timeoutMs,
        () => `The command did not exit; the screen shows:\n${screen()}`,
      )
      return Number(written)
    },
    close() {
      try {
        execFileSync('tmux', ['kill-session', '-t', name], {stdio: 'ignore'})
      } catch {
        // already gone
      }
    },
  }
}
