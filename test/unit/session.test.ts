import {describe, expect, it} from 'vitest'

import {DEFAULT_LOCAL_URL, normalizeApiUrl, ProfileStore} from '../../src/config/profiles.js'
import {resolveTarget} from '../../src/config/session.js'
import {tempDir} from '../helpers/portal.js'

async function store(
  profiles: Record<string, {apiUrl: string; clientId?: string; clientSecret?: string}>,
  current?: string,
) {
  const profileStore = await ProfileStore.open(tempDir())
  for (const [name, profile] of Object.entries(profiles))
    await profileStore.set(name, profile, {makeCurrent: name === current})
  return profileStore
}

const port = {apiUrl: 'https://api.getport.io', clientId: 'port-id', clientSecret: 'port-secret'}
const local = {apiUrl: 'http://127.0.0.1:5999', clientId: 'local-id', clientSecret: 'local-secret'}

describe('resolveTarget', () => {
  it('falls back to the local embedded portal with no configuration', async () => {
    const target = resolveTarget(await store({}), {env: {}})
    expect(target).toMatchObject({
      apiUrl: DEFAULT_LOCAL_URL,
      apiUrlSource: 'default',
      credentials: undefined,
      profileName: 'local',
    })
  })

  it('uses the saved local profile by default, and the current profile when one is set', async () => {
    expect(resolveTarget(await store({local}), {env: {}})).toMatchObject({
      apiUrl: local.apiUrl,
      credentials: {clientId: 'local-id'},
    })
    expect(resolveTarget(await store({default: port, local}, 'default'), {env: {}}).apiUrl).toBe(
      'https://api.getport.io',
    )
  })

  it('picks the profile saved for an explicit URL', async () => {
    const target = resolveTarget(await store({default: port, local}, 'default'), {
      apiUrl: 'http://127.0.0.1:5999/',
      env: {},
    })
    expect(target).toMatchObject({apiUrlSource: 'flag', credentials: {clientId: 'local-id'}, profileName: 'local'})
  })

  it('never pairs a profile’s credentials with another URL', async () => {
    const target = resolveTarget(await store({local}), {apiUrl: 'https://evil.example', env: {}, profile: 'local'})
    expect(target.credentials).toBeUndefined()
  })

  it('prefers IDP_ then PORT_ credentials from the environment, and PORT_API_URL with /v1', async () => {
    const env = {PORT_API_URL: 'https://api.us.getport.io/v1', PORT_CLIENT_ID: 'p', PORT_CLIENT_SECRET: 's'}
    expect(resolveTarget(await store({local}), {env})).toMatchObject({
      apiUrl: 'https://api.us.getport.io',
      apiUrlSource: 'env:PORT_API_URL',
      credentials: {clientId: 'p', source: 'env:PORT'},
    })
    const both = {...env, IDP_CLIENT_ID: 'i', IDP_CLIENT_SECRET: 't'}
    expect(resolveTarget(await store({}), {env: both}).credentials).toMatchObject({clientId: 'i', source: 'env:IDP'})
  })

  it("IDP_TOKEN (a handler's run token) stands in for any credentials, even half a pair the agent left behind", async () => {
    const env = {IDP_CLIENT_ID: 'agent-id', IDP_TOKEN: 'run-token'}
    expect(resolveTarget(await store({local}), {env}).credentials).toBeUndefined()
  })
})

describe('normalizeApiUrl', () => {
  it.each([
    ['https://api.getport.io/v1/', 'https://api.getport.io'],
    ['http://localhost:5480', 'http://localhost:5480'],
    ['https://proxy.internal/port/v1', 'https://proxy.internal/port'],
  ])('%s → %s', (input, expected) => expect(normalizeApiUrl(input)).toBe(expected))

  it('rejects what is not an http(s) URL', () => {
    expect(() => normalizeApiUrl('api.getport.io')).toThrow('is not a URL')
    expect(() => normalizeApiUrl('ftp://x')).toThrow('http:// or https://')
  })
})
