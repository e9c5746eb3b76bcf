// The package as users get it: `npm pack` from a clean copy of the repository (no dist: prepack
// builds it), installed from the tarball without optional dependencies, as the README tells CI jobs
// that only talk to Port to install it. Installing takes seconds: npm's cache already holds
// everything (`npm ci` filled it).
import {execFile} from 'node:child_process'
import {existsSync, readFileSync, realpathSync, symlinkSync} from 'node:fs'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {ROOT, runCli} from '../helpers/cli.js'
import {servePortal, type CliPortal} from '../helpers/e2e.js'
import {tempDir} from '../helpers/portal.js'

const exec = promisify(execFile)
const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {version: string}).version

let files: string[]
let installed: string
let bin: string
let portal: CliPortal

/** The repository's tracked (and new, not ignored) files, copied as a fresh clone would have them. */
async function cleanCopy(): Promise<string> {
  const copy = tempDir('idp-clone-')
  await exec(
    'sh',
    ['-c', `git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -xf - -C "${copy}"`],
    {
      cwd: ROOT,
    },
  )
  symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'))
  return copy
}

beforeAll(async () => {
  const copy = await cleanCopy()
  expect(existsSync(join(copy, 'dist'))).toBe(false)
  const packed = await exec('npm', ['pack', '--json', '--pack-destination', copy], {cwd: copy})
  // The build's own output comes first: the JSON report is the array that starts a line.
  const [tarball] = JSON.parse(packed.stdout.slice(packed.stdout.search(/^\[/m))) as [
    {filename: string; files: {path: string}[]},
  ]
  files = tarball.files.map((file) => file.path)
  const prefix = tempDir('idp-prefix-')
  await exec(
    'npm',
    [
      'install',
      '--prefix',
      prefix,
      '--omit=optional',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      join(copy, tarball.filename),
    ],
    {cwd: prefix},
  )
  installed = join(prefix, 'node_modules')
  bin = realpathSync(join(installed, '.bin/idp'))
  portal = await servePortal()
}, 180_000)

afterAll(() => portal?.stop())

const idp = (args: string[]) => runCli(args, {bin, env: portal.env})

describe('npm pack', () => {
  it('packs what the commands load: the build (web view assets too), the oclif manifest, the bin, schemas and examples', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'bin/run.js',
        'dist/commands/blueprint/list.js',
        'dist/hooks/command-not-found.js',
        // The web view's stylesheet and script, copied by the build (nothing comes from a CDN).
        'dist/portal/web/assets/app.css',
        'dist/portal/web/assets/app.js',
        'oclif.manifest.json',
        'schemas/catalog-file.json',
        'examples/catalog/idp-catalog.json',
      ]),
    )
    expect(files.filter((file) => /^(src|test|bench)\//.test(file))).toEqual([])
  })
})

describe('the installed package, without its optional SQLite module', () => {
  it('has no better-sqlite3', () => {
    expect(existsSync(join(installed, 'better-sqlite3'))).toBe(false)
  })

  it('prints its version', async () => {
    const result = await idp(['--version'])
    expect(result.stderr).toBe('')
    expect(result.stdout).toContain(`idp/${version}`)
  })

  it('validates, syncs and reads a catalog against a portal', async () => {
    const catalog = join(installed, 'idp/examples/catalog')
    expect((await idp(['catalog', 'validate', catalog])).code).toBe(0)
    const sync = await idp(['catalog', 'sync', catalog, '--json'])
    expect(sync.stderr).not.toContain('Error')
    expect(sync.code).toBe(0)
    const blueprints = await idp(['blueprint', 'list', '--json'])
    expect(blueprints.code).toBe(0)
    expect(blueprints.json().blueprints.map((blueprint: {identifier: string}) => blueprint.identifier)).toContain(
      'Component',
    )
  })

  it('says how to add the SQLite module when asked to serve a portal, and creates no data directory', async () => {
    const dataDir = join(tempDir('idp-nosqlite-'), 'data')
    const result = await idp(['portal', 'serve', '--port', '0', '--data-dir', dataDir])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('better-sqlite3')
    expect(result.stderr).toContain('without --omit=optional')
    expect(existsSync(dataDir)).toBe(false)
  })
})
