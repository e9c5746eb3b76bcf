import {userInfo} from 'node:os'

/**
 * The database a URL (or, without one, libpq's PG* variables) names, for output, logs and
 * errors: never its password, whether in the URL's user part or a `password` parameter.
 */
export function describeDatabase(url: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (url === undefined) {
    const user = env.PGUSER ?? userInfo().username
    return `postgres://${user}@${env.PGHOST ?? 'localhost'}:${env.PGPORT ?? 5432}/${env.PGDATABASE ?? user}`
  }
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return 'the database URL given (it could not be parsed)'
  }
  if (parsed.password) parsed.password = '***'
  if (parsed.searchParams.has('password')) parsed.searchParams.set('password', '***')
  return parsed.toString()
}

/** A warning when a URL with a password came on the command line (as `flag`), where the process list shows it. */
export function passwordOnArgv(url: string | undefined, argv: string[], flag = '--database-url'): string | undefined {
  if (url === undefined || !argv.some((arg) => arg.includes(url))) return undefined
  try {
    const parsed = new URL(url)
    if (!parsed.password && !parsed.searchParams.has('password')) return undefined
  } catch {
    return undefined
  }
  return `the password in ${flag} shows in the process list; pass it in PGPASSWORD or ~/.pgpass, or the URL in IDP_PORTAL_DATABASE_URL`
}
