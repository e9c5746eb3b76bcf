import {execFileSync} from 'node:child_process'
import {cpSync, existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {decryptSecret} from '../../src/domain/secret-inputs.js'
import {BIN, ROOT, startCli} from '../helpers/cli.js'
import {localPortal, type CliPortal} from '../helpers/e2e.js'
import {until} from '../helpers/http.js'
import {fakeGitHub} from '../helpers/github.js'
import {tempDir} from '../helpers/portal.js'
import {terminal} from '../helpers/terminal.js'

// Every example action, run the two ways people run them: with flags (scripts, CI) and at a
// terminal answering the prompts. The portal syncs examples/catalog, `idp agent` runs
// examples/handlers, and a stand-in plays GitHub for the GITHUB-backed action.

const EXAMPLES = join(ROOT, 'examples')
let portal: CliPortal
let github: Awaited<ReturnType<typeof fakeGitHub>>
let agent: ReturnType<typeof startCli>
let repo: string
let scaffoldDir: string

const api = (method: string, path: string, body?: unknown) => portal.api(method, path, body)
const entity = async (blueprint: string, identifier: string) =>
  (await api('GET', `/v1/blueprints/${blueprint}/entities/${identifier}`)).entity
const git = (...args: string[]) => execFileSync('git', ['-C', repo, ...args], {encoding: 'utf8'}).trim()
const adminSecret = () => portal.credentials().clientSecret

beforeAll(async () => {
  github = await fakeGitHub()
  portal = await localPortal({portal: {github: {apiUrl: github.url, pollMs: 100, token: 'gh-test'}}})
  expect((await portal.run(['catalog', 'sync', join(EXAMPLES, 'catalog')])).code).toBe(0)
  // The catalog repository the GitOps handler commits to.
  repo = tempDir('idp-gitops-')
  cpSync(join(EXAMPLES, 'catalog'), join(repo, 'catalog'), {recursive: true})
  git('init', '--quiet', '--initial-branch', 'main')
  git('add', 'catalog')
  git('-c', 'user.name=test', '-c', 'user.email=test@localhost', 'commit', '--quiet', '-m', 'Catalog')
  scaffoldDir = tempDir('idp-scaffold-')
  agent = startCli(['agent', '--handlers', join(EXAMPLES, 'handlers'), '--poll-interval', '100ms'], {
    ...portal.env,
    IDP_GITOPS_REPO: repo,
    IDP_SCAFFOLD_DIR: scaffoldDir,
  })
}, 30_000)
afterAll(async () => {
  agent?.child.kill('SIGTERM')
  await agent?.exited
  await portal?.stop()
  await github?.close()
})

/** Merge the handler's branch and sync the repository's catalog, as a reviewer and CI would. */
async function mergeAndSync(branch: string) {
  git('-c', 'user.name=test', '-c', 'user.email=test@localhost', 'merge', '--quiet', '--no-edit', branch)
  expect((await portal.run(['catalog', 'sync', join(repo, 'catalog')])).code).toBe(0)
}

describe('with flags', () => {
  it('spin up a developer environment, extend its TTL, delete it', async () => {
    const created = await portal.run(['action', 'run', 'create_dev_env', '-i', 'name=flags-env', '-i', 'size=large'])
    expect(created.code, created.stderr).toBe(0)
    const before = Date.parse((await entity('DevEnv', 'flags-env')).properties.ttl)
    expect(before - Date.now()).toBeGreaterThan(4.9 * 86_400_000)

    const extended = await portal.run(['action', 'run', 'extend_dev_env_ttl', '--entity', 'flags-env', '-i', 'days=3'])
    expect(extended.code, extended.stderr).toBe(0)
    const after = Date.parse((await entity('DevEnv', 'flags-env')).properties.ttl)
    expect(Math.round((after - before) / 86_400_000)).toBe(3)
    // The backend's change is the run's: `run get` lists it, credited to who ran the action.
    const [extend] = (await portal.api('GET', '/v1/actions/runs?action=extend_dev_env_ttl')).runs
    const {changes} = (await portal.run(['run', 'get', extend.id, '--json'])).json()
    expect(changes).toMatchObject([
      {
        action: 'UPDATE',
        context: {entity: 'flags-env', runId: extend.id},
        trigger: {by: {userId: portal.credentials().clientId}},
      },
    ])

    const deleted = await portal.run(['action', 'run', 'delete_dev_env', '--entity', 'flags-env'])
    expect(deleted.code, deleted.stderr).toBe(0)
    expect(await entity('DevEnv', 'flags-env')).toBeUndefined()
  })

  it('scaffold a new microservice: files for the language, a Component in its system', async () => {
    const result = await portal.run([
      'action',
      'run',
      'scaffold_microservice',
      '-i',
      'name=billing',
      '-i',
      'system=Cart',
      '-i',
      'language=go',
    ])
    expect(result.code, result.stderr).toBe(0)
    expect(await entity('Component', 'billing')).toMatchObject({
      properties: {type: 'service'},
      relations: {system: 'Cart'},
    })
    expect(readFileSync(join(scaffoldDir, 'billing', 'go.mod'), 'utf8')).toContain('module example.com/billing')
  })

  it('provision a cloud resource the GitOps way: a commit on a branch; merged and synced, it is in the catalog', async () => {
    const result = await portal.run([
      'action',
      'run',
      'provision_resource',
      '-i',
      'name=orders-queue',
      '-i',
      'type=rabbit-queue',
    ])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout + result.stderr).toContain('on branch idp/provision-orders-queue')
    expect(await entity('Resource', 'orders-queue')).toBeUndefined() // not before the merge
    expect(git('branch', '--show-current')).toBe('main') // the working tree was left alone
    await mergeAndSync('idp/provision-orders-queue')
    expect(await entity('Resource', 'orders-queue')).toMatchObject({properties: {type: 'rabbit-queue'}})
  })

  it('add a secret to a service: the GitHub workflow gets it encrypted, and the run follows the workflow', async () => {
    const result = await portal.run([
      'action',
      'run',
      'add_service_secret',
      '--entity',
      'CartService',
      '-i',
      'key=STRIPE_KEY',
      '-i',
      'value=sk_live_flags',
    ])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout + result.stderr).not.toContain('sk_live_flags')
    const dispatch = github.dispatched.at(-1)!
    expect(dispatch.path).toBe('/repos/acme/platform-workflows/actions/workflows/add-secret.yml/dispatches')
    expect(dispatch.authorization).toBe('Bearer gh-test')
    expect(dispatch.body.inputs).toMatchObject({key: 'STRIPE_KEY', service: 'CartService'})
    expect(dispatch.body.inputs.value).not.toContain('sk_live_flags')
    expect(decryptSecret(dispatch.body.inputs.value!, adminSecret())).toBe('sk_live_flags')
  })

  it('update pod count: waits for an approver, then scales', async () => {
    const watching = startCli(
      [
        'action',
        'run',
        'update_pod_count',
        '--entity',
        'ProductsService',
        '-i',
        'replicas=5',
        '-i',
        'reason=load test',
      ],
      portal.env,
    )
    let output = ''
    watching.child.stderr!.on('data', (chunk) => (output += chunk))
    watching.child.stdout!.on('data', (chunk) => (output += chunk))
    await until(() => output.includes('waiting for approval') || undefined, 25_000)
    const id = /Run (r_\w{16})/.exec(output)![1]!
    expect((await portal.run(['run', 'approve', id])).code).toBe(0)
    expect(await watching.exited).toBe(0)
    expect(output).toContain('kubectl scale deployment/ProductsService --replicas=5')
    expect(output).toContain('ProductsService runs 5 pods')
  })

  it('rejects a pod count outside its range before starting anything', async () => {
    const result = await portal.run([
      'action',
      'run',
      'update_pod_count',
      '--entity',
      'ProductsService',
      '-i',
      'replicas=50',
    ])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('replicas')
  })
})

describe('at a terminal', () => {
  /** Runs `idp action run ACTION` in a real terminal; `answer` plays the person. */
  async function interactive(action: string, answer: (term: ReturnType<typeof terminal>) => Promise<void>) {
    const term = terminal(`${process.execPath} ${BIN} action run ${action}`, portal.env)
    try {
      await answer(term)
      const screen = await term.waitFor((shown) => /✓ SUCCESS|✗ FAILURE|exit code/.test(shown), 30_000)
      expect(await term.exitCode(), screen).toBe(0)
      return screen
    } finally {
      term.close()
    }
  }
  /** Types into a search prompt and, once the list is down to the match (`gone` filtered out), takes it. */
  async function pick(term: ReturnType<typeof terminal>, prompt: string, search: string, shown: string, gone: string) {
    await term.waitFor(prompt)
    term.type(search)
    await term.waitFor((screen) => screen.includes(shown) && !screen.includes(gone))
    term.type('Enter')
  }

  it('spin up a developer environment, extend its TTL, delete it', async () => {
    await interactive('create_dev_env', async (term) => {
      await term.waitFor('? Name')
      term.type('tty-env', 'Enter')
      await pick(term, 'type to search Component', 'Products', 'Products Service (ProductsService)', 'Cart Service')
      await term.waitFor('? Size')
      term.type('Enter')
      await term.waitFor('? TTL')
      term.type('Enter')
    })
    const created = await entity('DevEnv', 'tty-env')
    expect(created.relations).toEqual({service: 'ProductsService'})

    await interactive('extend_dev_env_ttl', async (term) => {
      await pick(term, 'DevEnv to run "Extend TTL" on', 'tty', 'tty-env', 'orders')
      await term.waitFor('? Days')
      term.type('Enter')
    })
    const extended = await entity('DevEnv', 'tty-env')
    expect(Date.parse(extended.properties.ttl) - Date.parse(created.properties.ttl)).toBeGreaterThan(2.9 * 86_400_000)

    await interactive('delete_dev_env', async (term) => {
      await pick(term, 'DevEnv to run "Delete a developer environment" on', 'tty', 'tty-env', 'orders')
    })
    expect(await entity('DevEnv', 'tty-env')).toBeUndefined()
  }, 90_000)

  it('scaffold a new microservice', async () => {
    await interactive('scaffold_microservice', async (term) => {
      await term.waitFor('? Service name')
      term.type('search-api', 'Enter')
      await pick(term, 'type to search System', 'Prod', 'Products', 'Cart')
      await term.waitFor('? Language')
      term.type('Down', 'Down')
      await term.waitFor('❯ python')
      term.type('Enter')
    })
    expect(await entity('Component', 'search-api')).toMatchObject({relations: {system: 'Products'}})
    expect(existsSync(join(scaffoldDir, 'search-api', 'pyproject.toml'))).toBe(true)
  }, 60_000)

  it('provision a cloud resource the GitOps way', async () => {
    await interactive('provision_resource', async (term) => {
      await term.waitFor('? Resource name')
      term.type('media-bucket', 'Enter')
      await term.waitFor('? Type')
      term.type('Down', 'Down', 'Down')
      await term.waitFor('❯ s3-bucket')
      term.type('Enter')
    })
    await mergeAndSync('idp/provision-media-bucket')
    expect(await entity('Resource', 'media-bucket')).toMatchObject({properties: {type: 's3-bucket'}})
  }, 60_000)

  it('add a secret to a service: the value is masked and never shown', async () => {
    const screen = await interactive('add_service_secret', async (term) => {
      await pick(
        term,
        'Component to run "Add a secret to a service" on',
        'Cart',
        'Cart Service (CartService)',
        'Products Service',
      )
      await term.waitFor('? Secret name')
      term.type('DB_PASSWORD', 'Enter')
      await term.waitFor('? Secret value')
      term.type('hunter2-tty', 'Enter')
    })
    expect(screen).not.toContain('hunter2-tty')
    expect(screen).toContain('secret inputs left out: value')
    expect(decryptSecret(github.dispatched.at(-1)!.body.inputs.value!, adminSecret())).toBe('hunter2-tty')
  }, 60_000)

  it('update pod count, approved from another terminal', async () => {
    await interactive('update_pod_count', async (term) => {
      await pick(
        term,
        'Component to run "Update pod count" on',
        'Products',
        'Products Service (ProductsService)',
        'Cart Service',
      )
      await term.waitFor('? Pods')
      term.type('3', 'Enter')
      await term.waitFor('? Reason')
      term.type('traffic', 'Enter')
      const waiting = await term.waitFor('waiting for approval')
      const id = /Run (r_\w{16})/.exec(waiting)![1]!
      expect((await portal.run(['run', 'approve', id])).code).toBe(0)
    })
  }, 60_000)
})
