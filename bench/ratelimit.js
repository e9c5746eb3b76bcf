// Rate limits: sync N entities against a portal emulating Port's limits at a rate low enough to be
// the bottleneck. idp paces itself by the x-ratelimit-* headers: the total time should be about
// what the limit allows (requests ÷ allowed rate), with (almost) no 429s.
import {spawnSync} from 'node:child_process'

import {generate} from './catalog.js'
import {BIN, freshPortal, row} from './lib.js'

export async function benchRateLimit({entities = 10_000, limit = 50, periodSeconds = 5} = {}) {
  const dir = generate(entities)
  console.log(`\n## Rate limits: sync ${entities} entities, portal limited to ${limit} requests per ${periodSeconds}s`)
  for (const reset of ['epoch', 'seconds']) {
    const portal = await freshPortal({
      serveArgs: ['--rate-limit', `${limit}/${periodSeconds}s`, '--rate-limit-reset', reset],
    })
    const started = process.hrtime.bigint()
    const sync = spawnSync(process.execPath, [BIN, 'catalog', 'sync', dir, '--json'], {
      encoding: 'utf8',
      env: {...process.env, IDP_CONFIG_DIR: portal.configDir, IDP_DEBUG: 'http'},
      maxBuffer: 1 << 30,
    })
    const seconds = Number(process.hrtime.bigint() - started) / 1e9
    portal.stop()
    if (sync.status !== 0) throw new Error(`sync exited ${sync.status}: ${sync.stderr.slice(-2000)}`)
    const requests = sync.stderr.split('\n').filter((line) => line.startsWith('→ ')).length
    const refused = sync.stderr.split('\n').filter((line) => line.startsWith('← 429')).length
    const ideal = requests / (limit / periodSeconds)
    row(
      `sync, x-ratelimit-reset as ${reset}`,
      `${seconds.toFixed(1)} s  (${(seconds / ideal).toFixed(2)}x requests ÷ rate = ${ideal.toFixed(1)} s, target ≤ 1.1x)`,
    )
    row(
      '  requests, and 429s among them',
      `${requests}, ${refused} (${((100 * refused) / requests).toFixed(2)}%, target ≤ 1%)`,
    )
  }
}
