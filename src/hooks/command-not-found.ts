import type {Hook} from '@oclif/core'

import {didYouMean} from '../shared/suggest.js'

/**
 * A mistyped command: one line with the closest commands (as gh and kubectl do), exit 2 (usage),
 * and the same error object as every other command under --json. No prompt, so scripts are safe.
 */
const hook: Hook<'command_not_found'> = async function ({argv, id}) {
  const typed = id.replaceAll(':', ' ')
  const known = [
    ...this.config.commands.filter((command) => !command.hidden).map((command) => command.id.replaceAll(':', ' ')),
    ...this.config.topics.map((topic) => topic.name.replaceAll(':', ' ')),
  ]
  // The id may hold arguments too ("acton run x"): suggest for the longest start that has a match.
  const words = typed.split(' ')
  let hint = ''
  for (let length = words.length; length > 0 && !hint; length--) {
    const start = words.slice(0, length).join(' ')
    hint = didYouMean(
      start,
      known.filter((name) => name.split(' ').length === length),
    )
  }
  const message = `"${typed}" is not an idp command.${hint}`
  const help = 'See idp --help for the commands.'
  if (argv?.includes('--json')) {
    process.stdout.write(`${JSON.stringify({error: {code: 'command_not_found', exitCode: 2, hint: help, message}})}\n`)
  } else {
    process.stderr.write(`Error: ${message}\n${help}\n`)
  }
  this.exit(2)
}

export default hook
