import {randomBytes} from 'node:crypto'
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'

import {createApp} from './app.js'
import {WorkerJq} from '../jq/worker-engine.js'
import {generateId} from './ids.js'
import {SqliteStore} from './store/sqlite-store.js'
import type {Store} from './store/store.js'

export interface PortalOptions {
  dataDir: string
  port?: number
  host?: string
  tokenTtlSeconds?: number
  onError?: (error: unknown) => void
}

export interface RunningPortal {
  url: string
  store: Store
  server: Server
  /** Set on the first start of a data directory: the admin credentials, to be shown once. */
  createdAdmin: {clientId: string; clientSecret: string} | undefined
  close(): Promise<void>
}

/** Opens the store in `dataDir`, creates admin credentials on first start, and listens. */
export async function startPortal(options: PortalOptions): Promise<RunningPortal> {
  const store = SqliteStore.open(options.dataDir)
  const createdAdmin = await ensureAdmin(store)
  const jq = new WorkerJq()
  const server = createServer(
    {keepAliveTimeout: 30_000},
    createApp({jq, onError: options.onError, store, tokenTtlSeconds: options.tokenTtlSeconds}),
  )
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 5480, options.host ?? '127.0.0.1', () => resolve())
  })
  const address = server.address() as AddressInfo
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return {
    async close() {
      server.closeIdleConnections()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await jq.close()
      await store.close()
    },
    createdAdmin,
    server,
    store,
    url: `http://${host}:${address.port}`,
  }
}

async function ensureAdmin(store: Store) {
  if ((await store.countCredentials()) > 0) return undefined
  const admin = {clientId: generateId('client', 24), clientSecret: randomBytes(32).toString('base64url')}
  await store.transaction(() => store.createCredential({...admin, createdAt: new Date().toISOString(), role: 'admin'}))
  return admin
}
