import {createRequire} from 'node:module'

import type Database from 'better-sqlite3'

import {ExitCode, IdpError} from '../../../errors.js'

type DatabaseClass = typeof Database

let loaded: DatabaseClass | undefined

/**
 * better-sqlite3, loaded only when a portal store opens: it is an optional dependency (a native
 * build), so a CI job that only talks to Port can install idp without it. Opening an in-memory
 * database proves the native part is there too, before anything touches a data directory.
 */
export function loadSqlite(): DatabaseClass {
  if (loaded) return loaded
  try {
    const Sqlite = createRequire(import.meta.url)('better-sqlite3') as DatabaseClass
    new Sqlite(':memory:').close()
    return (loaded = Sqlite)
  } catch (error) {
    throw new IdpError(
      'The embedded portal needs the SQLite module (better-sqlite3), and this installation of idp has none that loads.',
      {
        cause: error,
        code: 'sqlite_missing',
        exitCode: ExitCode.INTERNAL,
        hint: 'better-sqlite3 is an optional dependency of idp: install idp again without --omit=optional (and without --ignore-scripts). Commands that talk to Port or to a portal running elsewhere do not need it.',
      },
    )
  }
}
