// Start-up: idp --version and idp entity list --help against a minimal oclif CLI built here.
import {mkdirSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {spawnSync} from 'node:child_process'

import {BIN, interleave, ROOT, row, temp, timeProcess} from './lib.js'

export function buildMinimalCli() {
  const dir = temp('idp-bench-mini-')
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'))
  mkdirSync(join(dir, 'bin'))
  mkdirSync(join(dir, 'commands'))
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({
      files: ['bin', 'commands'],
      name: 'mini',
      oclif: {bin: 'mini', commands: './commands'},
      type: 'module',
      version: '1.0.0',
    }),
  )
  writeFileSync(join(dir, 'bin/run.js'), "import {execute} from '@oclif/core'\nawait execute({dir: import.meta.url})\n")
  writeFileSync(
    join(dir, 'commands/hello.js'),
    "import {Command} from '@oclif/core'\nexport default class Hello extends Command {\n  async run() { this.log('hi') }\n}\n",
  )
  const manifest = spawnSync(join(ROOT, 'node_modules/.bin/oclif'), ['manifest'], {cwd: dir, stdio: 'ignore'})
  if (manifest.status !== 0) throw new Error('oclif manifest failed for the minimal CLI')
  return join(dir, 'bin/run.js')
}

export function benchStartup() {
  const mini = buildMinimalCli()
  const env = {IDP_CONFIG_DIR: temp('idp-bench-config-')}
  const medians = interleave({
    'idp --version': () => timeProcess([BIN, '--version'], env),
    'idp entity list --help': () => timeProcess([BIN, 'entity', 'list', '--help'], env),
    'minimal oclif --version (floor)': () => timeProcess([mini, '--version']),
    'node -e 0': () => timeProcess(['-e', '0']),
  })
  const floor = medians['minimal oclif --version (floor)']
  console.log('\n## Start-up (median of 15 interleaved runs, ms)')
  for (const [name, ms] of Object.entries(medians))
    row(name, `${ms.toFixed(1)} ms  (${(ms / floor).toFixed(2)}x floor)`)
  const worst = Math.max(medians['idp --version'], medians['idp entity list --help']) / floor
  row(
    'target: idp at most 1.3x the minimal oclif CLI',
    worst <= 1.3 ? `met (${worst.toFixed(2)}x)` : `MISSED (${worst.toFixed(2)}x)`,
  )
  return {floor, medians, ratio: worst}
}
