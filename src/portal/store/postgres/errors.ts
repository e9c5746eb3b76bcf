import {ExitCode, IdpError} from '../../../errors.js'
import {StoreUnavailableError} from '../store.js'
import {SchemaTooNewError} from './migrations.js'

/** Socket errors and SQLSTATEs that mean "the database cannot be reached right now". */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'EPIPE',
])

/** The server is down, restarting, unreachable or refused the connection: worth retrying later. */
export function isUnavailable(error: unknown): boolean {
  const {code, message} = (error ?? {}) as {code?: unknown; message?: unknown}
  if (typeof code === 'string' && (UNREACHABLE.has(code) || code.startsWith('08') || /^57P0[1-3]$/.test(code)))
    return true
  // pg's own words when a connection drops or cannot be made in time.
  return (
    typeof message === 'string' &&
    /^Connection terminated|timeout expired|timeout exceeded when trying to connect/.test(message)
  )
}

/** Rethrows a lost or refused connection as StoreUnavailableError (a 503), anything else as it is. */
export function unavailable(error: unknown): never {
  if (isUnavailable(error))
    throw new StoreUnavailableError(`The portal's database cannot be reached: ${(error as Error).message}`)
  throw error
}

/** Why opening `database` (already described without its password, given as `flag`) failed, for the CLI. */
export function openError(error: unknown, database: string, flag = '--database-url'): Error {
  if (error instanceof SchemaTooNewError) {
    return new IdpError(`${database}: ${error.message}`, {
      code: 'database_too_new',
      exitCode: ExitCode.USAGE,
      hint: 'Run the idp release that migrated this database, or a newer one.',
    })
  }
  const {code, message} = error as {code?: string; message: string}
  if (code === 'ERR_INVALID_URL') {
    return new IdpError('The database URL could not be parsed', {
      code: 'usage',
      exitCode: ExitCode.USAGE,
      hint: 'Pass it as postgres://USER@HOST:PORT/DATABASE (the password in PGPASSWORD or ~/.pgpass).',
    })
  }
  if (code === '28P01' || code === '28000') {
    return new IdpError(`PostgreSQL refused the credentials for ${database}: ${message}`, {
      code: 'database_auth',
      exitCode: ExitCode.AUTH,
      hint: 'Check the user and password (PGPASSWORD or ~/.pgpass keep the password out of the URL).',
    })
  }
  if (isUnavailable(error) || code === '3D000') {
    return new IdpError(`Could not reach PostgreSQL at ${database}: ${message}`, {
      code: 'database_unavailable',
      exitCode: ExitCode.UNREACHABLE,
      hint: `Check that the server is up and that ${flag} (or PGHOST, PGPORT, PGDATABASE) names it.`,
    })
  }
  return error as Error
}
