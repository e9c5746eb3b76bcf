import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {accessToken, request, type ApiAnswer} from './http.js'
import {startPortal, type PortalOptions, type RunningPortal} from '../../src/portal/server.js'

export interface TestPortal extends RunningPortal {
  dataDir: string
  admin: {clientId: string; clientSecret: string}
  token(): Promise<string>
  /** A raw HTTP call with the admin's bearer token (pass `auth: false` to send none). */
  call(method: string, path: string, body?: unknown, options?: {auth?: boolean; raw?: string}): Promise<ApiAnswer>
  stop(): Promise<void>
}

export const tempDir = (prefix = 'idp-test-') => mkdtempSync(join(tmpdir(), prefix))

/** The real embedded portal on an ephemeral port, SQLite in a temp dir. */
export async function startTestPortal(options: Partial<PortalOptions> = {}): Promise<TestPortal> {
  const dataDir = options.dataDir ?? tempDir('idp-portal-')
  const portal = await startPortal({dataDir, port: 0, ...options})
  // A restarted data directory has its admin already.
  const stored = await portal.store.adminCredential()
  const admin = portal.createdAdmin ?? {clientId: stored!.clientId, clientSecret: stored!.clientSecret}
  let cached: Promise<string> | undefined
  // A failed login is not kept: the next call asks again.
  const token = () =>
    (cached ??= accessToken(portal.url, admin).catch((error: unknown) => {
      cached = undefined
      throw error
    }))
  return {
    ...portal,
    admin,
    async call(method, path, body, {auth = true, raw} = {}) {
      return request(portal.url, method, path, {body, raw, token: auth ? await token() : undefined})
    },
    dataDir,
    async stop() {
      await portal.close()
      if (!options.dataDir) rmSync(dataDir, {force: true, recursive: true})
    },
    token,
  }
}
