import {spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const BIN = ROOT + 'bin/run.js'

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
  json: () => any
}

/**
 * Runs the built CLI (`bin/run.js`, or another `bin` such as an installed package's) as a child
 * process, with no TTY and CI unset unless given.
 */
export function runCli(
  args: string[],
  options: {
    bin?: string
    cwd?: string
    env?: Record<string, string | undefined>
    input?: string
    timeoutMs?: number
  } = {},
): Promise<CliResult> {
  if (!existsSync(ROOT + 'dist/commands'))
    throw new Error('Build first: npm run build (the e2e tests run the built CLI)')
  return new Promise((resolve, reject) => {
    const env: Record<string, string> = {}
    for (const [key, value] of Object.entries({...process.env, ...options.env}))
      if (value !== undefined) env[key] = value
    const child = spawn(process.execPath, [options.bin ?? BIN, ...args], {
      cwd: options.cwd,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk) => (stdout += chunk))
    child.stderr.on('data', (chunk) => (stderr += chunk))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({code, json: () => JSON.parse(stdout), stderr, stdout})
    })
    child.stdin.end(options.input ?? '')
  })
}

/** Starts a long-running CLI command (e.g. `portal serve --json`) and resolves with its first stdout line. */
export function startCli(args: string[], env: Record<string, string | undefined> = {}) {
  const merged: Record<string, string> = {}
  for (const [key, value] of Object.entries({...process.env, ...env})) if (value !== undefined) merged[key] = value
  const child = spawn(process.execPath, [BIN, ...args], {env: merged, stdio: ['ignore', 'pipe', 'pipe']})
  let stderr = ''
  child.stderr.on('data', (chunk) => (stderr += chunk))
  const firstLine = new Promise<string>((resolve, reject) => {
    let buffer = ''
    child.stdout.on('data', (chunk) => {
      buffer += chunk
      const end = buffer.indexOf('\n')
      if (end >= 0) resolve(buffer.slice(0, end))
    })
    child.on('exit', (code) => reject(new Error(`exited ${code} before printing: ${stderr}`)))
  })
  firstLine.catch(() => undefined) // callers that do not wait for a line must not see an unhandled rejection
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))),
  )
  return {child, exited, firstLine, stderr: () => stderr}
}
