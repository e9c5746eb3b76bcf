// Watching runs: over 50 runs on the embedded portal, the time from the backend's terminal PATCH
// to `idp run watch` exiting (p50, p95) and the requests a watcher makes per minute. How soon
// `idp action run` shows its first prompt is first-prompt.js.
import {spawn} from 'node:child_process'

import {BIN, createBenchAction, freshPortal, percentile, row} from './lib.js'

const RUNS = 50

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** One watched run: the backend logs about once a second for ~3 s, then PATCHes SUCCESS. */
async function watchOne(api, env) {
  const {run} = await api('POST', '/v1/actions/bench/runs', {properties: {name: 'x'}})
  const child = spawn(process.execPath, [BIN, 'run', 'watch', run.id, '--json'], {
    env: {...process.env, ...env, IDP_DEBUG: 'http'},
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let requests = 0
  child.stdout.on('data', (chunk) => (stdout += chunk))
  child.stderr.on(
    'data',
    (chunk) => (requests += (String(chunk).match(/^→ GET .*\/v1\/actions\/runs\//gm) ?? []).length),
  )
  const exited = new Promise((resolve) => child.on('exit', () => resolve(performance.now())))
  while (!stdout.includes('"event":"status"')) await sleep(5)
  const watchStarted = performance.now()
  for (const message of ['step one', 'step two', 'step three']) {
    await sleep(750 + Math.random() * 500)
    await api('POST', `/v1/actions/runs/${run.id}/logs`, {message})
  }
  await sleep(200 + Math.random() * 300)
  const patched = performance.now()
  await api('PATCH', `/v1/actions/runs/${run.id}`, {status: 'SUCCESS'})
  const done = await exited
  return {latency: done - patched, minutes: (done - watchStarted) / 60_000, requests}
}

export async function benchRuns() {
  const {api, configDir, stop} = await freshPortal()
  const env = {IDP_CONFIG_DIR: configDir}
  await createBenchAction(api)
  const results = []
  for (let index = 0; index < RUNS; index++) results.push(await watchOne(api, env))
  stop()

  const latencies = results.map((result) => result.latency)
  const perMinute =
    results.reduce((sum, result) => sum + result.requests, 0) / results.reduce((sum, result) => sum + result.minutes, 0)
  console.log(`\n## Watching runs on the embedded portal (${RUNS} runs, each ~3 s with a log a second)`)
  row(
    'terminal PATCH → `idp run watch` exits: p50 / p95',
    `${percentile(latencies, 50).toFixed(0)} ms / ${percentile(latencies, 95).toFixed(0)} ms  (target p50 ≤ 300 ms)`,
  )
  row('requests per minute per watched run', `${perMinute.toFixed(0)}  (target ≤ 120)`)
  return {latencies, perMinute}
}
