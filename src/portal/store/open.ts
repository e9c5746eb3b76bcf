import {SqliteStore} from './sqlite/store.js'
import type {Store} from './store.js'

/** The stores the portal can keep its data in; a second backend adds its name here. */
export const STORE_KINDS = ['sqlite'] as const
export type StoreKind = (typeof STORE_KINDS)[number]

/**
 * The portal's one way to open its store; the server and the commands that touch a data directory
 * (`portal credential`) use it. SQLite keeps everything in `<dataDir>/portal.db`.
 */
export function openStore(dataDir: string, kind: StoreKind = 'sqlite'): Store & {warnings: string[]} {
  switch (kind) {
    case 'sqlite':
      return SqliteStore.open(dataDir)
  }
}
