// A throwaway PostgreSQL cluster for the benches, started on first use and stopped when the run
// ends; as test/helpers/postgres-cluster.ts does, but with fsync ON and PostgreSQL's default
// synchronous_commit (on), since durability is what the write benches measure. As root it runs
// as the `postgres` OS user (PostgreSQL refuses root). IDP_BENCH_DATABASE_URL uses a server of
// one's own instead.
import {execFileSync} from 'node:child_process'
import {chownSync, existsSync, readdirSync, rmSync} from 'node:fs'
import {createServer} from 'node:net'
import {join} from 'node:path'

import pg from 'pg'

import {temp} from './lib.js'

let cluster

function binaries() {
  const debian = '/usr/lib/postgresql'
  if (existsSync(debian)) {
    const versions = readdirSync(debian)
      .filter((name) => existsSync(join(debian, name, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a))
    if (versions[0]) return join(debian, versions[0], 'bin')
  }
  return (process.env.PATH ?? '').split(':').find((folder) => existsSync(join(folder, 'initdb')))
}

async function freePort() {
  const server = createServer()
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address()
  await new Promise((resolve) => server.close(resolve))
  return port
}

async function start() {
  if (process.env.IDP_BENCH_DATABASE_URL) return {stop: () => {}, url: process.env.IDP_BENCH_DATABASE_URL}
  const bin = binaries()
  if (!bin)
    throw new Error('the PostgreSQL benches need PostgreSQL (apt-get install postgresql) or IDP_BENCH_DATABASE_URL')
  const root = temp('idp-bench-postgres-')
  const asRoot = process.getuid?.() === 0
  const run = (command, args) =>
    asRoot
      ? execFileSync('runuser', ['-u', 'postgres', '--', join(bin, command), ...args], {stdio: 'pipe'})
      : execFileSync(join(bin, command), args, {stdio: 'pipe'})
  if (asRoot) {
    const id = (flag) => Number(execFileSync('id', [flag, 'postgres']).toString().trim())
    chownSync(root, id('-u'), id('-g'))
  }
  const data = join(root, 'data')
  const port = await freePort()
  run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres'])
  const settings = `-p ${port} -k ${root} -c listen_addresses=127.0.0.1 -c max_connections=200`
  run('pg_ctl', ['-D', data, '-o', settings, '-l', join(root, 'log'), '-w', 'start'])
  return {
    stop() {
      run('pg_ctl', ['-D', data, '-m', 'immediate', 'stop'])
      rmSync(root, {force: true, recursive: true})
    },
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
  }
}

/** A new, empty database on the bench's cluster (started on first use), as a URL. */
export async function freshDatabase() {
  cluster ??= await start()
  const name = `idp_bench_${Math.random().toString(36).slice(2, 10)}`
  const client = new pg.Client({connectionString: cluster.url})
  await client.connect()
  await client.query(`CREATE DATABASE ${name}`)
  await client.end()
  const url = new URL(cluster.url)
  url.pathname = `/${name}`
  return url.toString()
}

/** Stops the bench's cluster, if one was started. */
export function stopCluster() {
  cluster?.stop()
  cluster = undefined
}
