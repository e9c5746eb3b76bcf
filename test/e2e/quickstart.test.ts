import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {expect, it} from 'vitest'

import {startCli} from '../helpers/cli.js'
import {tempDir} from '../helpers/portal.js'

it('idp quickstart: catalog synced, run SUCCESS with logs, DevEnv with a 5-day expiry, the short-TTL one deleted', async () => {
  const configDir = tempDir()
  const quick = startCli(['quickstart', '--ttl', '3s', '--keep', '--json'], {IDP_CONFIG_DIR: configDir})
  quick.child.stdout!.setEncoding('utf8')
  const result = JSON.parse(await quick.firstLine)
  try {
    expect(result).toMatchObject({kept: true, run: {status: 'SUCCESS'}, synced: {failed: 0}})
    expect(result.expiry.deletedAfterSeconds).toBeGreaterThan(0)

    // Through the API, with the profile quickstart saved.
    const local = JSON.parse(readFileSync(join(configDir, 'config.json'), 'utf8')).profiles.local
    expect(local.apiUrl).toBe(result.portal)
    const {accessToken} = (await (
      await fetch(`${result.portal}/v1/auth/access_token`, {
        body: JSON.stringify({clientId: local.clientId, clientSecret: local.clientSecret}),
        headers: {'content-type': 'application/json'},
        method: 'POST',
      })
    ).json()) as {accessToken: string}
    const get = async (path: string) =>
      (await fetch(result.portal + path, {headers: {authorization: `Bearer ${accessToken}`}})).json() as Promise<any>

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
  } finally {
    quick.child.kill('SIGTERM')
    expect(await quick.exited).toBe(0)
  }
}, 90_000)
