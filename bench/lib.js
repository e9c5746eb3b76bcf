// Shared helpers for the benchmarks: medians of interleaved rounds, temp dirs, child processes.
import {spawn, spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

export const ROOT = fileURLToPath(new URL('../', import.meta.url))
export const BIN = join(ROOT, 'bin/run.js')

export const temp = (prefix) => mkdtempSync(join(tmpdir(), prefix))

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

/** Wall time of one process run, ms. */
export function timeProcess(args, env = {}) {
  const started = process.hrtime.bigint()
  const result = spawnSync(process.execPath, args, {env: {...process.env, ...env}, stdio: 'ignore'})
  if (result.status !== 0) throw new Error(`${args.join(' ')} exited ${result.status}`)
  return Number(process.hrtime.bigint() - started) / 1e6
}

/** Runs every variant once per round, `rounds` times after `warmup` rounds; returns medians. */
export function interleave(variants, {rounds = 15, warmup = 3} = {}) {
  const samples = Object.fromEntries(Object.keys(variants).map((name) => [name, []]))
  for (let round = 0; round < warmup + rounds; round++) {
    for (const [name, run] of Object.entries(variants)) {
      const ms = run()
      if (round >= warmup) samples[name].push(ms)
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, median(values)]))
}

/** Starts a process that prints one JSON line when ready; resolves with it and the child. */
export function startServer(args, env = {}) {
  const child = spawn(process.execPath, args, {env: {...process.env, ...env}, stdio: ['ignore', 'pipe', 'inherit']})
  return new Promise((resolve, reject) => {
    let buffer = ''
    child.stdout.on('data', (chunk) => {
      buffer += chunk
      const end = buffer.indexOf('\n')
      if (end >= 0) resolve({child, ready: JSON.parse(buffer.slice(0, end))})
    })
    child.on('exit', (code) => reject(new Error(`server exited ${code}`)))
  })
}

export const row = (label, value) => console.log(`${label.padEnd(58)} ${value}`)

/**
 * `idp portal serve` on a free port with fresh data and config; a token and a JSON API helper.
 * `serveArgs` go to `portal serve`; IDP_BENCH_PROF=DIR writes the portal's CPU profiles there.
 */
export async function freshPortal({serveArgs = []} = {}) {
  const configDir = temp('idp-bench-config-')
  const profile = process.env.IDP_BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.IDP_BENCH_PROF}`] : []
  const {child, ready} = await startServer(
    [...profile, BIN, 'portal', 'serve', '--port', '0', '--json', '--data-dir', temp('idp-bench-data-'), ...serveArgs],
    {IDP_CONFIG_DIR: configDir},
  )
  const local = JSON.parse(readFileSync(join(configDir, 'config.json'), 'utf8')).profiles.local
  const {accessToken} = await fetch(`${ready.url}/v1/auth/access_token`, {
    body: JSON.stringify({clientId: local.clientId, clientSecret: local.clientSecret}),
    headers: {'content-type': 'application/json'},
    method: 'POST',
  }).then((response) => response.json())
  const api = (method, path, body) =>
    fetch(ready.url + path, {
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: {authorization: `Bearer ${accessToken}`, 'content-type': 'application/json'},
      method,
    }).then((response) => response.json())
  return {api, child, configDir, stop: () => child.kill('SIGTERM'), token: accessToken, url: ready.url}
}

/** The agent-backed action with one required text input that the run and prompt benches start. */
export function createBenchAction(api) {
  return api('POST', '/v1/actions', {
    identifier: 'bench',
    invocationMethod: {agent: true, type: 'WEBHOOK', url: 'http://127.0.0.1:9/hook'},
    trigger: {
      operation: 'CREATE',
      type: 'self-service',
      userInputs: {properties: {name: {title: 'Name', type: 'string'}}, required: ['name']},
    },
  })
}
