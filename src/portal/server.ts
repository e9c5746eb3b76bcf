import {randomBytes} from 'node:crypto'
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {setTimeout as sleep} from 'node:timers/promises'

import {createApp} from './app.js'
import {PortalCore} from './core.js'
import type {GitHubSettings} from './invoke/backends/backend.js'
import {WorkerJq} from '../jq/worker-engine.js'
import {generateId} from './ids.js'
import type {RateLimit} from './http/rate-limit.js'
import {openStore, type StoreKind} from './store/open.js'
import type {Store} from './store/store.js'
import {credentialEmail, ensureSystemBlueprints, syncCredentialUser} from './auth/teams.js'
import {USER_BLUEPRINT} from '../model/system-blueprints.js'
import {systemClock, type Clock} from '../shared/when.js'

export interface PortalOptions {
  dataDir: string
  /** Which store keeps the data (SQLite, the default, in `dataDir`). */
  store?: StoreKind
  /** PostgreSQL's `postgres://` URL (else libpq's PG* variables name the database). */
  databaseUrl?: string | undefined
  port?: number
  host?: string
  tokenTtlSeconds?: number
  /** GITHUB backends: the API and token (without one, their runs fail saying so). */
  github?: GitHubSettings
  /** Webhook retries back off from this (ms); tests make it small. */
  retryBaseMs?: number
  /** How long a webhook may take to answer before the attempt counts as failed (default 30 s). */
  webhookTimeoutMs?: number
  onError?: (error: unknown) => void
  /** The portal's clock; tests pass one they can move. */
  clock?: Clock
  /** Emulate Port's rate limits (off by default). */
  rateLimit?: RateLimit | undefined
  /** Who the admin created on a first start stands for (its `_user`; runs it starts show it). */
  adminEmail?: string | undefined
  /** How long a lease on a delivery or automation event lasts unless renewed (default 30 s). */
  leaseMs?: number | undefined
}

/** How long a stopping portal waits for the requests in flight (a long poll answers at once). */
const DRAIN_MS = 10_000

export interface RunningPortal {
  url: string
  store: Store
  core: PortalCore
  server: Server
  /** Set on the first start of a data directory: the admin credentials, to be saved once. */
  createdAdmin: {clientId: string; clientSecret: string} | undefined
  /** What opening the data directory put right (permissions others could read). */
  warnings: string[]
  close(): Promise<void>
}

/**
 * Opens the store in `dataDir`, creates admin credentials on first start, listens, and resumes
 * the background work an earlier process left (deliveries, agent queue, timers).
 */
export async function startPortal(options: PortalOptions): Promise<RunningPortal> {
  const store = await openStore(options.dataDir, options.store, {onError: options.onError, url: options.databaseUrl})
  const createdAdmin = await ensureAdmin(store, options.clock ?? systemClock, options.adminEmail)
  const jq = new WorkerJq()
  let url = ''
  const core = new PortalCore({
    baseUrl: () => url,
    clock: options.clock,
    github: options.github,
    jq,
    leaseMs: options.leaseMs,
    onError: options.onError,
    retryBaseMs: options.retryBaseMs,
    webhookTimeoutMs: options.webhookTimeoutMs,
    store,
    tokenTtlSeconds: options.tokenTtlSeconds,
  })
  // Runs changed through other processes on a shared store wake this one's watchers too.
  store.watchRuns?.((runId) => core.events.changed(runId))
  // Bounded before anyone is authenticated: headers within 10 s, a whole request within 60 s, an
  // idle connection closed after 2 min (long polls wait at most 30 s); bodies are capped in http/body.ts.
  const server = createServer(
    {headersTimeout: 10_000, keepAliveTimeout: 30_000, maxHeaderSize: 16_384, requestTimeout: 60_000},
    createApp({clock: core.clock, core, onError: options.onError, rateLimit: options.rateLimit}),
  )
  server.setTimeout(120_000, (socket) => socket.destroy())
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 5480, options.host ?? '127.0.0.1', () => resolve())
  })
  const address = server.address() as AddressInfo
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  url = `http://${host}:${address.port}`
  await core.start()
  return {
    /**
     * Stops accepting connections and lets the requests in flight finish (long polls answer at
     * once) for up to DRAIN_MS, then stops background work and releases its leases (another
     * process sharing the store takes that work at once), and closes the store.
     */
    async close() {
      core.events.close()
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      // A kept-alive connection closes once its request is answered, not when its client says so.
      server.closeIdleConnections()
      const idle = setInterval(() => server.closeIdleConnections(), 50)
      const drained = await Promise.race([closed.then(() => true), sleep(DRAIN_MS, false, {ref: false})])
      clearInterval(idle)
      if (!drained) {
        server.closeAllConnections()
        await closed
      }
      await core.stop()
      await jq.close()
      await store.close()
    },
    core,
    createdAdmin,
    server,
    warnings: store.warnings,
    store,
    url,
  }
}

/**
 * Port's `_team` and `_user` blueprints, a `_user` entity for each credential (databases made
 * before they existed get theirs on the next start), and admin credentials on the first start.
 */
async function ensureAdmin(store: Store, clock: Clock, email: string | undefined) {
  return store.transaction(async () => {
    await ensureSystemBlueprints(store, clock())
    for (const credential of await store.listCredentials()) {
      if (!(await store.getEntity(USER_BLUEPRINT, credentialEmail(credential))))
        await syncCredentialUser(store, credential, clock())
    }
    if ((await store.countCredentials()) > 0) return undefined
    const admin = {clientId: generateId('client', 24), clientSecret: randomBytes(32).toString('base64url')}
    const credential = {...admin, createdAt: clock().toISOString(), role: 'admin' as const, ...(email ? {email} : {})}
    await store.createCredential(credential)
    await syncCredentialUser(store, credential, clock())
    return admin
  })
}
