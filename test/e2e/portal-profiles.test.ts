import {readFileSync} from 'node:fs'
import {basename, join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {runCli} from '../helpers/cli.js'
import {servePortal, type CliPortal} from '../helpers/e2e.js'
import {tempDir} from '../helpers/portal.js'
import {runIdp} from '../helpers/run-command.js'

// What `idp portal serve` leaves behind is the subject, so the portals are served by the built CLI;
// the commands that read it run in-process.
const started: CliPortal[] = []
afterAll(async () => {
  for (const portal of started) await portal.stop().catch(() => undefined)
})

const profiles = (configDir: string) =>
  JSON.parse(readFileSync(join(configDir, 'config.json'), 'utf8')).profiles as Record<
    string,
    {apiUrl: string; clientId: string; portalDataDir?: string}
  >

describe('a second portal with another data directory', () => {
  it('gets a profile of its own; "local" keeps the first portal, and auth status says how to start it', async () => {
    const first = await servePortal()
    started.push(first)
    const local = profiles(first.configDir).local!
    expect(local.portalDataDir).toBe(first.dataDir)

    const secondData = tempDir('idp-second-')
    const second = await servePortal({configDir: first.configDir, dataDir: secondData})
    started.push(second)
    const name = `local-${basename(secondData)}`
    const saved = profiles(first.configDir)
    expect(saved.local).toEqual(local)
    expect(saved[name]).toMatchObject({apiUrl: second.url, portalDataDir: secondData})

    const status = await runIdp(['auth', 'status', '--json'], {env: first.env})
    expect(status.json()).toMatchObject({apiUrl: first.url, authenticated: true, profile: 'local'})
    const other = await runIdp(['auth', 'status', '--profile', name, '--json'], {env: first.env})
    expect(other.json()).toMatchObject({apiUrl: second.url, authenticated: true, profile: name})

    // With the first portal stopped, the hint names the portal to start, not a new one.
    await first.stop()
    const down = await runIdp(['auth', 'status'], {env: first.env})
    expect(down.code).toBe(7)
    expect(down.stderr).toContain(`idp portal serve --port ${new URL(first.url).port} --data-dir ${first.dataDir}`)

    // Restarting the second data directory updates its own profile and adds none.
    await second.stop()
    const again = await servePortal({configDir: first.configDir, dataDir: secondData})
    started.push(again)
    const after = profiles(first.configDir)
    expect(Object.keys(after).sort()).toEqual(['local', name])
    expect(after[name]!.apiUrl).toBe(again.url)
    expect(after.local).toMatchObject(local)
  }, 180_000)
})

describe('idp portal credential', () => {
  let portal: CliPortal
  beforeAll(async () => {
    portal = await servePortal()
    started.push(portal)
  })

  it('takes no --api-url or --profile (it writes the data directory) and prints the portal URL it knows', async () => {
    // oclif prints help before any idp code runs: the built CLI.
    const help = await runCli(['portal', 'credential', '--help'], {env: portal.env})
    expect(help.stdout).not.toMatch(/^\s+--(api-url|profile)/m)
    const flagged = await runIdp(['portal', 'credential', '--data-dir', portal.dataDir, '--api-url', portal.url], {
      env: portal.env,
    })
    expect(flagged.code).toBe(2)

    const created = await runIdp(['portal', 'credential', '--data-dir', portal.dataDir], {env: portal.env})
    expect(created.code, created.stderr).toBe(0)
    expect(created.stderr).toContain(`idp login --api-url ${portal.url} `)
  })

  it("the portal's first admin stands for a person, not client_…@clients", async () => {
    const list = await runIdp(['portal', 'credential', 'list', '--data-dir', portal.dataDir, '--json'], {
      env: portal.env,
    })
    const admin = list.json().credentials.find((credential: {role: string}) => credential.role === 'admin')
    expect(admin.email).toMatch(/^[\w.-]+@localhost$/)
  })
})
