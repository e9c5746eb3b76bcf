// Catalog sync: N generated ~1 KB entities over 5 blueprints with relations, synced to the embedded
// portal on loopback; first sync and unchanged re-sync against floors measured in the same run.
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {spawnSync} from 'node:child_process'

import {BIN, freshPortal, median, row, temp} from './lib.js'

const BLUEPRINTS = [
  {identifier: 'domain', share: 0.01, relations: {}},
  {identifier: 'system', share: 0.04, relations: {domain: {target: 'domain', many: false}}},
  {identifier: 'resource', share: 0.2, relations: {}},
  {
    identifier: 'component',
    share: 0.5,
    relations: {system: {target: 'system', many: false}, resources: {target: 'resource', many: true}},
  },
  {identifier: 'api', share: 0.25, relations: {provider: {target: 'component', many: false}}},
]
const ORDER = BLUEPRINTS.map((blueprint) => blueprint.identifier).join(',')

export function generate(total) {
  const dir = temp(`idp-bench-catalog-${total}-`)
  const counts = Object.fromEntries(BLUEPRINTS.map((bp) => [bp.identifier, Math.max(1, Math.round(total * bp.share))]))
  for (const blueprint of BLUEPRINTS) {
    const properties = {
      description: {type: 'string'},
      owner: {type: 'string', format: 'email'},
      tier: {type: 'string', enum: ['gold', 'silver', 'bronze']},
      score: {type: 'number'},
    }
    const relations = Object.fromEntries(
      Object.entries(blueprint.relations).map(([name, r]) => [name, {...r, required: false}]),
    )
    mkdirSync(join(dir, 'blueprints'), {recursive: true})
    writeFileSync(
      join(dir, 'blueprints', `${blueprint.identifier}.json`),
      JSON.stringify({identifier: blueprint.identifier, title: blueprint.identifier, schema: {properties}, relations}),
    )
    mkdirSync(join(dir, 'entities', blueprint.identifier), {recursive: true})
    for (let index = 0; index < counts[blueprint.identifier]; index++) {
      const related = Object.fromEntries(
        Object.entries(blueprint.relations).map(([name, r]) => {
          const pick = (offset) => `${r.target}-${(index * 7 + offset) % counts[r.target]}`
          return [name, r.many ? [pick(0), pick(1)] : pick(0)]
        }),
      )
      const entity = {
        identifier: `${blueprint.identifier}-${index}`,
        title: `${blueprint.identifier} number ${index}`,
        properties: {
          description: 'lorem ipsum '.repeat(66),
          owner: `team${index % 20}@example.com`,
          tier: ['gold', 'silver', 'bronze'][index % 3],
          score: index % 100,
        },
        relations: related,
      }
      writeFileSync(
        join(dir, 'entities', blueprint.identifier, `${entity.identifier}.json`),
        JSON.stringify(entity, null, 1),
      )
    }
  }
  writeFileSync(join(dir, 'idp-catalog.json'), JSON.stringify({source: 'bench'}))
  return dir
}

function timed(args, env) {
  const rss = join(temp('idp-bench-rss-'), 'rss')
  const started = process.hrtime.bigint()
  const result = spawnSync(process.execPath, ['--import', new URL('./maxrss.mjs', import.meta.url).pathname, ...args], {
    encoding: 'utf8',
    env: {...process.env, ...env, IDP_BENCH_MAXRSS: rss},
    maxBuffer: 1 << 30,
  })
  const ms = Number(process.hrtime.bigint() - started) / 1e6
  if (result.status !== 0) throw new Error(`${args.join(' ')} exited ${result.status}: ${result.stderr.slice(-2000)}`)
  return {ms, rssMb: Number(readFileSync(rss, 'utf8')) / 1024, stdout: result.stdout}
}

async function round(dir) {
  const portal = await freshPortal()
  const env = {IDP_CONFIG_DIR: portal.configDir}
  const first = timed([BIN, 'catalog', 'sync', dir, '--json'], env)
  const resync = timed([BIN, 'catalog', 'sync', dir, '--json'], env)
  const counts = JSON.parse(resync.stdout).counts
  if (counts.created + counts.updated + counts.deleted + counts.failed !== 0)
    throw new Error(`re-sync wrote: ${JSON.stringify(counts)}`)
  const resyncFloor = timed([new URL('./floor-sync.js', import.meta.url).pathname, 'resync', dir, portal.url], {
    IDP_BENCH_TOKEN: portal.token,
  })
  portal.stop()

  // The full-sync floor gets its own fresh portal with the blueprints already there.
  const floorPortal = await freshPortal()
  spawnSync(process.execPath, [BIN, 'catalog', 'sync', join(dir, 'blueprints'), '--source', 'bench-floor'], {
    env: {...process.env, IDP_CONFIG_DIR: floorPortal.configDir},
  })
  const fullFloor = timed([new URL('./floor-sync.js', import.meta.url).pathname, 'full', dir, floorPortal.url, ORDER], {
    IDP_BENCH_TOKEN: floorPortal.token,
  })
  floorPortal.stop()
  return {first, fullFloor, resync, resyncFloor}
}

export async function benchCatalog(
  sizes = [
    [10_000, 3],
    [50_000, 1],
  ],
) {
  const results = {}
  for (const [size, rounds] of sizes) {
    const dir = generate(size)
    const runs = []
    for (let index = 0; index < rounds; index++) runs.push(await round(dir))
    const pick = (key, field = 'ms') => median(runs.map((run) => run[key][field]))
    const r = {
      first: pick('first'),
      fullFloor: pick('fullFloor'),
      resync: pick('resync'),
      resyncFloor: pick('resyncFloor'),
      rss: pick('first', 'rssMb'),
      resyncRss: pick('resync', 'rssMb'),
    }
    results[size] = r
    console.log(`\n## Catalog sync, ${size} entities over 5 blueprints with relations (median of ${rounds})`)
    row(
      'first sync (idp catalog sync, whole process)',
      `${r.first.toFixed(0)} ms  (${(r.first / r.fullFloor).toFixed(2)}x floor, target ≤ 1.5x)`,
    )
    row('  floor: read + parse + bulk POST with undici, no idp logic', `${r.fullFloor.toFixed(0)} ms`)
    row(
      'unchanged re-sync (writes nothing)',
      `${r.resync.toFixed(0)} ms  (${(r.resync / r.resyncFloor).toFixed(2)}x floor, target ≤ 1.5x)`,
    )
    row('  floor: read + parse + paged search, no idp logic', `${r.resyncFloor.toFixed(0)} ms`)
    row(
      'peak memory: first sync / re-sync',
      `${r.rss.toFixed(0)} MB / ${r.resyncRss.toFixed(0)} MB${size === 10_000 ? ' (target < 300 MB)' : ''}`,
    )
  }
  return results
}
