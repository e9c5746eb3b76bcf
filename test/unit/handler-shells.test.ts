import {afterEach, expect, it} from 'vitest'

import {HandlerShells} from '../../src/services/handler-shells.js'
import {until} from '../helpers/http.js'

let shells: HandlerShells
afterEach(() => shells?.close())

/** Runs one handler; its output lines and exit status. */
async function run(command: string, env: Record<string, string> = {}, stdin = '{"run":"r_1"}') {
  const lines: string[] = []
  const code = await shells.run({command, env, onLine: (line) => lines.push(line), stdin}, () => undefined)
  return {code, lines}
}

it('gives the payload on stdin and the run’s variables literally, whatever they hold', async () => {
  shells = new HandlerShells(process.env)
  const value = `it's "quoted" $HOME \`date\` \\ ;|&`
  const {code, lines} = await run('cat; echo; printf "%s\\n" "$IDP_VALUE"', {IDP_VALUE: value})
  expect(code).toBe(0)
  expect(lines).toEqual(['{"run":"r_1"}', '', value])
})

it('keeps each handler to itself: exit, cd, variables and syntax errors end with it, and the shell goes on', async () => {
  shells = new HandlerShells(process.env)
  const start = await run('pwd')
  expect(await run('cd / && FOO=bar && export FOO && exit 3')).toEqual({code: 3, lines: []})
  expect(await run('pwd; echo "${FOO:-unset}"')).toEqual({code: 0, lines: [...start.lines, 'unset']})
  const broken = await run('echo (')
  expect(broken.code).not.toBe(0)
  expect(broken.lines.join('\n')).toMatch(/syntax error/i)
  expect(await run('echo still here')).toEqual({code: 0, lines: ['still here']})
})

it('passes stdout and stderr lines on, a last line without a newline too', async () => {
  shells = new HandlerShells(process.env)
  const {code, lines} = await run('echo out; echo err >&2; printf tail')
  expect(code).toBe(0)
  expect(lines.sort()).toEqual(['err', 'out', 'tail'])
})

it('kills a handler and what it started; the next handler gets a fresh shell', async () => {
  shells = new HandlerShells(process.env)
  let kill!: () => void
  let background = 0
  const running = shells.run(
    {command: 'sleep 30 & echo $!; sleep 30', env: {}, onLine: (line) => (background = Number(line)), stdin: '{}'},
    (stop) => (kill = stop),
  )
  await until(async () => (background > 0 ? true : undefined))
  kill()
  expect(await running).toBeNull()
  await until(async () => (alive(background) ? undefined : true))
  expect(await run('echo next')).toEqual({code: 0, lines: ['next']})
})

it('runs handlers side by side in separate shells', async () => {
  shells = new HandlerShells(process.env)
  const results = await Promise.all(Array.from({length: 8}, (_, i) => run(`echo ${i}`)))
  expect(results.map((result) => result.lines[0])).toEqual(['0', '1', '2', '3', '4', '5', '6', '7'])
})

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

it('ends what a handler left running when it exits, so nothing of it reaches the next run on that shell', async () => {
  shells = new HandlerShells(process.env)
  expect(await run('(sleep 0.3; echo leaked) &')).toEqual({code: 0, lines: []})
  // The next run gets the same (idle) shell, and lasts past the moment the leftover would print.
  const next = await run('sleep 0.6; echo second')
  expect(next).toEqual({code: 0, lines: ['second']})
})
