// npm run bench: every benchmark measures idp against a floor measured in the same run.
// BENCH=startup,prompt,portal,search,team,kill,wake,noisy,runs,backends,catalog,ratelimit picks some;
// IDP_BENCH_SIZES=10000 limits the catalog sizes, and its largest size is the search's large blueprint
// (IDP_BENCH_SIZES=100000 BENCH=search for the 100k search). The PostgreSQL benches start a
// cluster of their own (postgres.js) unless IDP_BENCH_DATABASE_URL names a server.
import {benchBackends} from './backends.js'
import {benchCatalog} from './catalog.js'
import {benchFirstPrompt} from './first-prompt.js'
import {benchNoisy} from './noisy.js'
import {benchPortalWrites} from './portal-writes.js'
import {benchRateLimit} from './ratelimit.js'
import {benchRuns} from './runs.js'
import {benchSearch} from './search.js'
import {benchStartup} from './startup.js'
import {benchKill, benchTeam, benchWake} from './team.js'
import {stopCluster} from './postgres.js'

const only = new Set(
  (process.env.BENCH ?? 'startup,prompt,portal,search,team,kill,wake,noisy,runs,backends,catalog,ratelimit').split(','),
)
console.log(`idp benchmarks on node ${process.version}, ${new Date().toISOString()}`)
try {
  if (only.has('startup')) benchStartup()
  if (only.has('prompt')) await benchFirstPrompt()
  if (only.has('portal')) await benchPortalWrites()
  if (only.has('search'))
    await benchSearch(Math.max(...(process.env.IDP_BENCH_SIZES?.split(',').map(Number) ?? [10_000])))
  if (only.has('team')) await benchTeam()
  if (only.has('kill')) await benchKill()
  if (only.has('wake')) await benchWake()
  if (only.has('noisy')) await benchNoisy()
  if (only.has('runs')) await benchRuns()
  if (only.has('backends')) await benchBackends()
  if (only.has('catalog')) {
    const sizes = process.env.IDP_BENCH_SIZES?.split(',').map((size) => [Number(size), 3]) ?? [
      [10_000, 3],
      [50_000, 1],
    ]
    await benchCatalog(sizes)
  }
  if (only.has('ratelimit')) await benchRateLimit()
} finally {
  // The PostgreSQL benches' cluster, if they started one.
  stopCluster()
}
