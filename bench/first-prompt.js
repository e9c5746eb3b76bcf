// The first prompt: how soon `idp action run` shows its first prompt in a terminal, with a token
// already cached, against the minimal oclif CLI's --version measured in the same run.
import {spawn} from 'node:child_process'

import {BIN, createBenchAction, freshPortal, median, row, timeProcess} from './lib.js'
import {buildMinimalCli} from './startup.js'

const ROUNDS = 15
const WARMUP = 3

/** `idp action run` in a pseudo-terminal (util-linux `script`): ms until the first prompt shows. */
function firstPrompt(env) {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn('script', ['-qfec', `${process.execPath} ${BIN} action run bench`, '/dev/null'], {
      env: {...process.env, ...env, CI: '', NO_COLOR: '1'},
      stdio: ['pipe', 'pipe', 'ignore'],
    })
    let seen = ''
    const timer = setTimeout(() => reject(new Error(`no prompt: ${seen}`)), 10_000)
    child.stdout.on('data', (chunk) => {
      seen += chunk
      if (seen.includes('Name')) {
        resolve(performance.now() - started)
        clearTimeout(timer)
        child.kill('SIGKILL')
      }
    })
    child.on('error', reject)
  })
}

export async function benchFirstPrompt() {
  const mini = buildMinimalCli()
  const {api, configDir, stop} = await freshPortal()
  const env = {IDP_CONFIG_DIR: configDir}
  await createBenchAction(api)
  await firstPrompt(env) // caches the profile's token, as after any earlier command
  const prompts = []
  const floors = []
  for (let round = 0; round < WARMUP + ROUNDS; round++) {
    const prompt = await firstPrompt(env)
    const floor = timeProcess([mini, '--version'])
    if (round < WARMUP) continue
    prompts.push(prompt)
    floors.push(floor)
  }
  stop()
  const ratio = median(prompts) / median(floors)
  console.log(`\n## The first prompt (median of ${ROUNDS} interleaved runs, token cached)`)
  row('first prompt of `idp action run` in a terminal', `${median(prompts).toFixed(0)} ms`)
  row('minimal oclif --version (floor)', `${median(floors).toFixed(0)} ms`)
  row('target: at most 1.3x the floor', ratio <= 1.3 ? `met (${ratio.toFixed(2)}x)` : `MISSED (${ratio.toFixed(2)}x)`)
  return {floors, prompts, ratio}
}
