import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {startPortal, type PortalOptions, type RunningPortal} from '../../src/portal/server.js'

export interface TestPortal extends RunningPortal {
  dataDir: string
  admin: {clientId: string; clientSecret: string}
  token(): Promise<string>
  /** A raw HTTP call with the admin's bearer token (pass `auth: false` to send none). */
  call(
    method: string,
    path: string,
    body?: unknown,
    options?: {auth?: boolean; raw?: string},
  ): Promise<{status: number; body: any}>
  stop(): Promise<void>
}

export const tempDir = (prefix = 'idp-test-') => mkdtempSync(join(tmpdir(), prefix))

/** Polls `check` until it gives a value (not undefined); throws after `timeoutMs`. */
export async function until<T>(check: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

/** The real embedded portal on an ephemeral port, SQLite in a temp dir. */
export async function startTestPortal(options: Partial<PortalOptions> = {}): Promise<TestPortal> {
  const dataDir = options.dataDir ?? tempDir('idp-portal-')
  const portal = await startPortal({dataDir, port: 0, ...options})
  // A restarted data directory has its admin already.
  const stored = await portal.store.adminCredential()
  const admin = portal.createdAdmin ?? {clientId: stored!.clientId, clientSecret: stored!.clientSecret}
  let cached: string | undefined
  const token = async () => {
    if (!cached) {
      const response = await fetch(`${portal.url}/v1/auth/access_token`, {
        body: JSON.stringify(admin),
        headers: {'content-type': 'application/json'},
        method: 'POST',
      })
      cached = ((await response.json()) as {accessToken: string}).accessToken
    }
    return cached
  }
  return {
    ...portal,
    admin,
    async call(method, path, body, {auth = true, raw} = {}) {
      const headers: Record<string, string> = {}
      if (auth) headers.authorization = `Bearer ${await token()}`
      if (body !== undefined || raw !== undefined) headers['content-type'] = 'application/json'
      const response = await fetch(portal.url + path, {
        body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
        headers,
        method,
      })
      const text = await response.text()
      return {body: text ? JSON.parse(text) : undefined, status: response.status}
    },
    dataDir,
    async stop() {
      await portal.close()
      if (!options.dataDir) rmSync(dataDir, {force: true, recursive: true})
    },
    token,
  }
}
