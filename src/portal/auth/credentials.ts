import {randomBytes} from 'node:crypto'

import {conflict, notFound} from '../http/errors.js'
import {generateId} from '../ids.js'
import type {StoreKind} from '../store/open.js'
import type {Credential, Role, Store} from '../store/store.js'
import {ensureSystemBlueprints, syncCredentialUser} from './teams.js'
import {systemClock, type Clock} from '../../shared/when.js'

/** A credential as it is listed: never with its secret. */
export interface CredentialInfo {
  clientId: string
  role: Role
  email?: string
  teams: string[]
  createdAt: string
  /** The organisation's credential: its secret signs webhooks and keys secret inputs. */
  organisation: boolean
}

export interface CreatedCredential {
  clientId: string
  clientSecret: string
  role: Role
}

/** Client credentials of the embedded portal: create, list, revoke. */
export class Credentials {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock = systemClock,
  ) {}

  /** Runs inside a write transaction; the secret is returned this once. */
  async create(options: {
    role: Role
    email?: string | undefined
    teams?: string[] | undefined
  }): Promise<CreatedCredential> {
    const credential: Credential = {
      clientId: generateId('client', 24),
      clientSecret: randomBytes(32).toString('base64url'),
      createdAt: this.clock().toISOString(),
      role: options.role,
      ...(options.email ? {email: options.email} : {}),
      teams: options.teams ?? [],
    }
    await this.store.createCredential(credential)
    // As on Port, whoever has credentials is a `_user` entity, and its teams are `_team` entities.
    await ensureSystemBlueprints(this.store, this.clock())
    await syncCredentialUser(this.store, credential, this.clock())
    return {clientId: credential.clientId, clientSecret: credential.clientSecret, role: credential.role}
  }

  async list(): Promise<CredentialInfo[]> {
    const organisation = (await this.store.adminCredential())?.clientId
    return (await this.store.listCredentials()).map((credential) => ({
      clientId: credential.clientId,
      createdAt: credential.createdAt,
      ...(credential.email ? {email: credential.email} : {}),
      organisation: credential.clientId === organisation,
      role: credential.role,
      teams: credential.teams ?? [],
    }))
  }

  /**
   * Deletes a credential and its tokens (run tokens it minted too), effective on the next request.
   * The organisation's credential stays: its secret signs webhooks and encrypts secret inputs.
   */
  async revoke(clientId: string): Promise<void> {
    if ((await this.store.adminCredential())?.clientId === clientId) {
      throw conflict(
        `${clientId} is the organisation's credential: its secret signs webhooks and encrypts secret inputs, so it cannot be revoked`,
      )
    }
    if (!(await this.store.deleteCredential(clientId))) throw notFound(`Credential "${clientId}" was not found`)
  }
}

/** Which portal store a command opens: a data directory's SQLite, or a PostgreSQL database. */
export interface PortalStoreLocation {
  dataDir: string
  store: StoreKind
  /** For PostgreSQL: its URL (else libpq's PG* variables name the database). */
  databaseUrl?: string | undefined
}

/** Opens a portal's store (the portal may be running) for the duration of `work`. */
export async function withCredentials<T>(
  where: PortalStoreLocation,
  work: (credentials: Credentials, transaction: <R>(fn: () => Promise<R>) => Promise<R>) => Promise<T>,
): Promise<T> {
  const {openStore} = await import('../store/open.js')
  const store = await openStore(where.dataDir, where.store, {url: where.databaseUrl})
  try {
    return await work(new Credentials(store), (fn) => store.transaction(fn))
  } finally {
    await store.close()
  }
}
