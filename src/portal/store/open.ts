import {SqliteStore} from './sqlite-store.js'
import type {Store} from './store.js'

/** The portal's one way to open its store (SQLite in `dataDir`); commands and the server use it. */
export function openStore(dataDir: string): Store & {warnings: string[]} {
  return SqliteStore.open(dataDir)
}
