import type {PostgresOptions} from './postgres/postgres-store.js'
import type {Store} from './store.js'

/** The stores the portal can keep its data in. */
export const STORE_KINDS = ['sqlite', 'postgres'] as const
export type StoreKind = (typeof STORE_KINDS)[number]

/**
 * The portal's one way to open its store; the server and the commands that touch a data directory
 * (`portal credential`) use it. SQLite keeps everything in `<dataDir>/portal.db`; PostgreSQL in
 * the database `postgres` names (migrated first). Each driver is loaded only when it is used.
 */
export async function openStore(
  dataDir: string,
  kind: StoreKind = 'sqlite',
  postgres: PostgresOptions = {},
): Promise<Store & {warnings: string[]}> {
  switch (kind) {
    case 'sqlite': {
      const {SqliteStore} = await import('./sqlite/store.js')
      return SqliteStore.open(dataDir)
    }
    case 'postgres': {
      const {PostgresStore} = await import('./postgres/postgres-store.js')
      return PostgresStore.open(postgres)
    }
  }
}
