import {execFileSync} from 'node:child_process'
import {mkdirSync, symlinkSync} from 'node:fs'
import {join} from 'node:path'

import {beforeAll, describe, it} from 'vitest'

import {BIN} from '../helpers/cli.js'
import {tempDir} from '../helpers/portal.js'
import {terminal} from '../helpers/terminal.js'

/**
 * Shell completion as a user installs it (`idp autocomplete bash|zsh` prints the line to add to
 * the shell's rc file), typed into a real bash and zsh in tmux: commands, subcommands and flags.
 */
const home = tempDir('idp-completion-')
const env = {
  HOME: home,
  PATH: `${join(home, 'bin')}:${process.env.PATH}`,
  XDG_CACHE_HOME: join(home, 'cache'),
  IDP_CONFIG_DIR: join(home, 'config'),
}

beforeAll(() => {
  mkdirSync(join(home, 'bin'))
  symlinkSync(BIN, join(home, 'bin', 'idp'))
  execFileSync(process.execPath, [BIN, 'autocomplete', '--refresh-cache'], {env: {...process.env, ...env}})
})

const shells = [
  ['bash', 'bash --norc --noprofile -i', 'bash'],
  ['zsh', 'zsh -f -i', 'zsh'],
] as const

describe.each(shells)('%s', (_name, shell, kind) => {
  it('completes commands, subcommands and flags', async () => {
    const setup = execFileSync(process.execPath, [BIN, 'autocomplete', 'script', kind], {
      encoding: 'utf8',
      env: {...process.env, ...env},
    }).trim()
    const term = terminal(shell, env)
    try {
      term.type(setup, 'Enter')
      term.type('clear', 'Enter')
      term.type('idp ent', 'Tab')
      await term.waitFor(/idp entity $/m)
      term.type('li', 'Tab')
      await term.waitFor(/idp entity list $/m)
      term.type('--bl', 'Tab')
      await term.waitFor(/idp entity list --blueprint $/m)
      term.type('C-c')
      term.type('idp catalog sy', 'Tab')
      await term.waitFor(/idp catalog sync $/m)
    } finally {
      term.close()
    }
  }, 30_000)
})
