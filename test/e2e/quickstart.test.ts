import {execFileSync, spawn} from 'node:child_process'
import {cpSync, mkdirSync, readFileSync, symlinkSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {createInterface} from 'node:readline'

import {expect, it} from 'vitest'

import {ROOT} from '../helpers/cli.js'
import {accessToken, request} from '../helpers/http.js'
import {tempDir} from '../helpers/portal.js'

/**
 * A clean copy of the checkout: only the files git tracks, plus the build output and the
 * installed dependencies (linked), so nothing untracked can make quickstart pass.
 */
function cleanCopy(): string {
  const copy = tempDir('idp-clean-')
  const tracked = execFileSync('git', ['-C', ROOT, 'ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    encoding: 'utf8',
  })
    .split('\0')
    .filter(Boolean)
  for (const file of tracked) {
    mkdirSync(join(copy, dirname(file)), {recursive: true})
    cpSync(join(ROOT, file), join(copy, file))
  }
  cpSync(join(ROOT, 'dist'), join(copy, 'dist'), {recursive: true})
  cpSync(join(ROOT, 'oclif.manifest.json'), join(copy, 'oclif.manifest.json'))
  symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'))
  return copy
}

it('idp quickstart from a clean copy: catalog, run with logs, DevEnv expiry, TTL clean-up, GitOps resource', async () => {
  const configDir = tempDir()
  const copy = cleanCopy()
  const child = spawn(process.execPath, [join(copy, 'bin/run.js'), 'quickstart', '--ttl', '3s', '--keep', '--json'], {
    env: {...process.env, IDP_CONFIG_DIR: configDir},
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
  let stderr = ''
  child.stderr.on('data', (chunk) => (stderr += chunk))
  const firstLine = await new Promise<string>((resolve, reject) => {
    createInterface({input: child.stdout}).once('line', resolve)
    void exited.then(() => reject(new Error(`quickstart exited early:\n${stderr}`)))
  })
  const result = JSON.parse(firstLine)
  try {
    expect(result).toMatchObject({
      gitops: {runStatus: 'SUCCESS', synced: true},
      kept: true,
      run: {status: 'SUCCESS'},
      synced: {failed: 0},
    })
    expect(result.expiry.deletedAfterSeconds).toBeGreaterThan(0)

    // Through the API, with the profile quickstart saved.
    const local = JSON.parse(readFileSync(join(configDir, 'config.json'), 'utf8')).profiles.local
    expect(local.apiUrl).toBe(result.portal)
    const token = await accessToken(result.portal, {clientId: local.clientId, clientSecret: local.clientSecret})
    const get = async (path: string) => (await request(result.portal, 'GET', path, {token})).body

    const blueprints = (await get('/v1/blueprints')).blueprints.map((bp: {identifier: string}) => bp.identifier)
    expect(blueprints).toEqual(expect.arrayContaining(['Domain', 'System', 'Component', 'Resource', 'API', 'DevEnv']))
    expect(
      (await get('/v1/blueprints/Component/entities')).entities.map((e: {identifier: string}) => e.identifier).sort(),
    ).toEqual(['CartService', 'CoreKafkaLibrary', 'CorePaymentLibrary', 'ProductsService'])
    const actions = (await get('/v1/actions')).actions.map((a: {identifier: string}) => a.identifier)
    expect(actions).toEqual(
      expect.arrayContaining(['create_dev_env', 'extend_dev_env_ttl', 'delete_dev_env', 'devenv_ttl_cleanup']),
    )

    const run = (await get(`/v1/actions/runs/${result.run.id}`)).run
    expect(run).toMatchObject({status: 'SUCCESS', statusLabel: 'Ready'})
    const logs = (await get(`/v1/actions/runs/${result.run.id}/logs?limit=50`)).runLogs.map(
      (log: {message: string}) => log.message,
    )
    expect(logs).toEqual(
      expect.arrayContaining(['Creating namespace', expect.stringMatching(/^Environment ready: https:\/\//)]),
    )

    const devEnv = (await get(`/v1/blueprints/DevEnv/entities/${result.devEnv.identifier}`)).entity
    const expiresIn = Date.parse(devEnv.properties.ttl) - Date.now()
    expect(expiresIn).toBeGreaterThan(4.9 * 86_400_000)
    expect(expiresIn).toBeLessThan(5.01 * 86_400_000)
    expect(devEnv.relations).toEqual({service: 'CartService'})

    expect((await get(`/v1/blueprints/DevEnv/entities/${result.expiry.environment}`)).error).toBe('not_found')
    const cleanups = (await get('/v1/actions/runs?action=devenv_ttl_cleanup')).runs
    expect(cleanups).toMatchObject([{source: 'AUTOMATION', status: 'SUCCESS'}])

    // GitOps: the resource reached the catalog through a commit and a sync, not through the API.
    const resource = (await get(`/v1/blueprints/Resource/entities/${result.gitops.resource}`)).entity
    expect(resource).toMatchObject({identifier: result.gitops.resource, properties: {type: 'postgres'}})
    const [provision] = (await get('/v1/actions/runs?action=provision_resource')).runs
    expect(provision.status).toBe('SUCCESS')
    const provisionLogs = (await get(`/v1/actions/runs/${provision.id}/logs?limit=50`)).runLogs
    expect(provisionLogs.map((log: {message: string}) => log.message)).toEqual(
      expect.arrayContaining([expect.stringContaining(`on branch ${result.gitops.branch}`)]),
    )
  } finally {
    child.kill('SIGTERM')
    expect(await exited).toBe(0)
  }
}, 90_000)
