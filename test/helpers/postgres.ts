import {randomBytes} from 'node:crypto'
import {setTimeout as sleep} from 'node:timers/promises'

import pg from 'pg'
import {inject} from 'vitest'

import {claimCluster, clusterState, HOW_TO_RUN_POSTGRES, startCluster, type ClusterState} from './postgres-cluster.js'

/** The first file to ask starts the run's cluster; the others wait for it (a few seconds). */
async function cluster(): Promise<ClusterState> {
  const root = inject('postgresRoot')
  if (claimCluster(root)) return startCluster(root)
  for (;;) {
    const state = clusterState(root)
    if (state) return state
    await sleep(50)
  }
}

/**
 * The server the PostgreSQL tests use: IDP_TEST_DATABASE_URL when set, else this run's throwaway
 * cluster; undefined when there is neither, which CI does not accept.
 */
export async function postgresServer(): Promise<string | undefined> {
  const given = process.env.IDP_TEST_DATABASE_URL
  const state: ClusterState = given ? {url: given} : await cluster()
  if (state.url) return state.url
  if (process.env.CI) throw new Error(`CI runs the PostgreSQL tests, but ${state.unavailable}: ${HOW_TO_RUN_POSTGRES}`)
  return undefined
}

/** The databases this test file made, to drop when it ends (a server of one's own keeps no litter). */
const made: string[] = []

/** A new, empty database on `server`, as a URL: one per store the tests open. */
export async function freshDatabase(server: string): Promise<string> {
  const name = `idp_test_${randomBytes(6).toString('hex')}`
  await onServer(server, `CREATE DATABASE ${name}`)
  made.push(name)
  const url = new URL(server)
  url.pathname = `/${name}`
  return url.toString()
}

/** Drops the databases freshDatabase made, whoever is still connected to them. */
export async function dropDatabases(server: string): Promise<void> {
  for (const name of made.splice(0)) await onServer(server, `DROP DATABASE ${name} WITH (FORCE)`)
}

async function onServer(server: string, sql: string): Promise<void> {
  const client = new pg.Client({connectionString: server})
  await client.connect()
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}
