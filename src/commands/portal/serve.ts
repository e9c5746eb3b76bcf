import {join} from 'node:path'

import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {localAdminEmail, savePortalProfile} from '../../config/portal-profile.js'
import {LOCAL_PROFILE, ProfileStore} from '../../config/profiles.js'
import {ExitCode, IdpError} from '../../errors.js'

export interface ServeResult {
  url: string
  dataDir: string
  /** Which store keeps the data. */
  store: 'sqlite' | 'postgres'
  /** SQLite's file, or the PostgreSQL database (its URL without the password). */
  database: string
  /** The CLI profile holding this portal's admin credentials (null when none is saved). */
  profile: string | null
  createdAdmin: boolean
}

export default class PortalServe extends BaseCommand<typeof PortalServe> {
  static override summary = 'Run the embedded Port-compatible portal.'
  static override description = `Serves Port's REST API (blueprints, entities, search) from SQLite in --data-dir, so idp works with no account; or, with --store postgres, from a PostgreSQL database that several portal processes share.
On the first start of a store it creates admin credentials and saves them as a CLI profile (a 0600 file; the secret is never printed); later starts update that profile's URL. Each data directory has its own profile: "local" for the first, and for another a name derived from its folder ("local-<folder>"), so a second portal never replaces the first one's profile; use it with --profile or IDP_PROFILE. The data directory is kept 0700 and its files 0600.
PostgreSQL: --database-url (or IDP_PORTAL_DATABASE_URL) names the database, else libpq's PG* variables do; sslmode and the other libpq URL parameters apply. Keep the password out of the URL (PGPASSWORD or ~/.pgpass): it is never printed. The schema is migrated on start (see "idp portal migrate").
GET /healthz answers while the process is up, GET /readyz while its store answers (503 otherwise): both public, for load balancers.
GITHUB backends use IDP_PORTAL_GITHUB_TOKEN (and IDP_PORTAL_GITHUB_URL for GitHub Enterprise) from the environment, never a flag.
Stops cleanly on Ctrl-C or SIGTERM: it stops accepting connections, lets requests in flight finish (up to 10 s; long polls answer at once), and hands back the deliveries it was making, so that another process sharing the database makes them at once; a second Ctrl-C stops at once (exit 130). With --json it prints one line when ready: {"url", "dataDir", "store", "database", "profile", "createdAdmin"}.`
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --port 0 --data-dir ./portal-data --json',
    'PGPASSWORD=… <%= config.bin %> <%= command.id %> --store postgres --database-url postgres://idp@db.internal/idp',
  ]
  static override flags = {
    'data-dir': Flags.string({
      env: 'IDP_PORTAL_DATA_DIR',
      summary: 'Where the SQLite database lives. [default: <data dir>/portal]',
    }),
    host: Flags.string({default: '127.0.0.1', summary: 'Address to listen on.'}),
    port: Flags.integer({
      default: 5480,
      env: 'IDP_PORTAL_PORT',
      max: 65_535,
      min: 0,
      summary: 'Port to listen on (0 picks a free one).',
    }),
    // The names of src/portal/store/open.ts STORE_KINDS, repeated so that --help loads no store code.
    store: Flags.option({
      default: 'sqlite',
      env: 'IDP_PORTAL_STORE',
      options: ['sqlite', 'postgres'] as const,
      summary: 'Where the portal keeps its data.',
    })(),
    'database-url': Flags.string({
      env: 'IDP_PORTAL_DATABASE_URL',
      helpValue: 'postgres://USER@HOST:PORT/DB',
      summary: 'The PostgreSQL database for --store postgres (else PG* variables name it).',
    }),
    'rate-limit': Flags.string({
      env: 'IDP_PORTAL_RATE_LIMIT',
      helpValue: 'REQUESTS/PERIOD',
      summary: "Emulate Port's rate limits per caller, e.g. 15000/5m (off by default).",
    }),
    'rate-limit-reset': Flags.option({
      default: 'epoch',
      options: ['epoch', 'seconds'] as const,
      summary: "How x-ratelimit-reset is told: epoch seconds (Port's docs) or seconds until the reset.",
    })(),
    'token-ttl': Flags.integer({default: 10_800, hidden: true, min: 1, summary: 'Access-token lifetime in seconds.'}),
    // Tests shorten it to see a dead process's work taken over without waiting 30 s.
    'lease-ms': Flags.integer({
      env: 'IDP_PORTAL_LEASE_MS',
      hidden: true,
      min: 100,
      summary: 'How long a process keeps a delivery or automation event it stopped renewing (ms).',
    }),
  }

  private async rateLimit() {
    const text = this.flags['rate-limit']
    if (text === undefined) return undefined
    const {parseRateLimit} = await import('../../portal/http/rate-limit.js')
    try {
      return parseRateLimit(text, this.flags['rate-limit-reset'])
    } catch (error) {
      throw new IdpError(`--rate-limit: ${(error as Error).message}`, {code: 'usage', exitCode: ExitCode.USAGE})
    }
  }

  async run(): Promise<ServeResult> {
    const dataDir = this.flags['data-dir'] ?? join(this.config.dataDir, 'portal')
    const {store} = this.flags
    const databaseUrl = this.flags['database-url']
    if (databaseUrl !== undefined && store !== 'postgres') {
      throw new IdpError('--database-url is for --store postgres.', {
        code: 'usage',
        exitCode: ExitCode.USAGE,
        hint: 'Pass --store postgres (or IDP_PORTAL_STORE=postgres), or leave out --database-url.',
      })
    }
    const {describeDatabase, passwordOnArgv} = await import('../../portal/store/postgres/database-url.js')
    const database = store === 'postgres' ? describeDatabase(databaseUrl) : join(dataDir, 'portal.db')
    const exposed = passwordOnArgv(databaseUrl, this.argv)
    if (exposed) this.io.err(`${this.io.color.yellow('Warning:')} ${exposed}`)
    const {startPortal} = await import('../../portal/server.js')
    const rateLimit = await this.rateLimit()
    const portal = await startPortal({
      adminEmail: localAdminEmail(),
      databaseUrl,
      dataDir,
      github: githubSettings(process.env),
      host: this.flags.host,
      leaseMs: this.flags['lease-ms'],
      onError: (error) =>
        this.io.err(
          (error as Error).name === 'PortalNotice'
            ? `portal: ${(error as Error).message}`
            : `portal: unexpected error: ${(error as Error).stack ?? String(error)}`,
        ),
      port: this.flags.port,
      rateLimit,
      store,
      tokenTtlSeconds: this.flags['token-ttl'],
    }).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EADDRINUSE') throw error
      throw new IdpError(`${this.flags.host}:${this.flags.port} is already in use.`, {
        code: 'address_in_use',
        exitCode: ExitCode.USAGE,
        hint: 'Stop the other process or pass another --port (0 picks a free one).',
      })
    })

    for (const warning of portal.warnings) this.io.err(`${this.io.color.yellow('Warning:')} ${warning}`)
    const profiles = await ProfileStore.open(this.config.configDir)
    const saved = await savePortalProfile(profiles, {
      createdAdmin: portal.createdAdmin,
      dataDir,
      holds: async (clientId) => Boolean(await portal.store.getCredential(clientId)),
      url: portal.url,
    })
    const profile = saved?.name ?? null
    const result = {createdAdmin: Boolean(portal.createdAdmin), dataDir, database, profile, store, url: portal.url}
    if (this.jsonOutput) {
      await this.printJson(result, {compact: true})
    } else {
      const {bold, dim} = this.io.color
      this.io.out(`Portal listening on ${bold(portal.url)} (data: ${store === 'sqlite' ? dataDir : database})`)
      if (portal.createdAdmin) {
        this.io.out(
          `Created admin credentials (client id ${portal.createdAdmin.clientId}) and saved them as profile "${profile}".`,
        )
      }
      if (saved?.localBelongsTo) {
        // Another data directory's portal keeps "local"; say how to reach this one.
        this.io.out(
          `Profile "${LOCAL_PROFILE}" stays with the portal in ${saved.localBelongsTo}; this portal's profile is "${profile}".`,
        )
        this.io.out(
          dim(`From another terminal: idp --profile ${profile} blueprint list  (or export IDP_PROFILE=${profile})`),
        )
      } else if (profile) {
        this.io.out(dim(`From another terminal: idp blueprint list  (or idp login --api-url ${portal.url})`))
      } else {
        this.io.out(dim(`From another terminal: idp login --api-url ${portal.url}`))
      }
      this.io.out(dim('Press Ctrl-C to stop.'))
    }

    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve)
      process.once('SIGTERM', resolve)
    })
    // Stopping lets requests in flight finish (up to 10 s); a second signal stops at once, which
    // loses nothing committed (as kill -9 would not) and leaves held leases to lapse.
    const now = () => process.exit(130)
    process.once('SIGINT', now)
    process.once('SIGTERM', now)
    await portal.close()
    this.note('Portal stopped.')
    return result
  }
}

/** GITHUB backends' settings come from the environment, so that the token is never on argv. */
function githubSettings(env: NodeJS.ProcessEnv) {
  return {
    apiUrl: env.IDP_PORTAL_GITHUB_URL ?? 'https://api.github.com',
    pollMs: Number(env.IDP_PORTAL_GITHUB_POLL_MS) || undefined,
    token: env.IDP_PORTAL_GITHUB_TOKEN,
  }
}
