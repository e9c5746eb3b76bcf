import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {ApiError} from '../../api/errors.js'
import {IdpError, usageError} from '../../errors.js'

export default class EntityDelete extends BaseCommand<typeof EntityDelete> {
  static override summary = 'Delete entities.'
  static override description =
    'Deletes one or more entities of a blueprint. Asks for confirmation on a terminal; elsewhere pass --yes. Entities that others require through a required relation are kept unless --delete-dependents.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> CartAPI --blueprint API',
    '<%= config.bin %> <%= command.id %> env-1 env-2 --blueprint DevEnv --yes',
  ]
  static override strict = false
  static override args = {identifier: Args.string({description: 'Entity identifiers.', required: true})}
  static override flags = {
    blueprint: Flags.string({char: 'b', required: true, summary: 'Blueprint identifier.'}),
    'delete-dependents': Flags.boolean({summary: 'Also delete entities that require these through a relation.'}),
    yes: Flags.boolean({char: 'y', summary: 'Do not ask for confirmation.'}),
  }

  async run(): Promise<{blueprint: string; deleted: string[]}> {
    const identifiers = this.positional
    const {blueprint, yes} = this.flags
    if (!yes) {
      const what = `${identifiers.length === 1 ? `entity "${identifiers[0]}"` : `${identifiers.length} entities`} of blueprint "${blueprint}"`
      if (!this.io.canPrompt)
        throw usageError(`Refusing to delete ${what} without confirmation.`, 'Pass --yes to confirm.')
      const {inquirerPrompter} = await import('../../prompts/prompter.js')
      const confirmed = await inquirerPrompter().confirm({default: false, message: `Delete ${what}?`})
      if (!confirmed) throw usageError('Nothing deleted.')
    }
    const {client} = await this.connect()
    const deleteDependents = this.flags['delete-dependents']
    const deleted: string[] = []
    try {
      if (identifiers.length === 1) {
        await client.entities.delete(blueprint, identifiers[0]!, {deleteDependents})
        deleted.push(identifiers[0]!)
      } else {
        for (let start = 0; start < identifiers.length; start += 100) {
          deleted.push(
            ...(await client.entities.bulkDelete(blueprint, identifiers.slice(start, start + 100), {deleteDependents})),
          )
        }
      }
    } catch (error) {
      throw inFlagTerms(error)
    }
    return this.emit({blueprint, deleted}, () =>
      this.io.out(`Deleted ${deleted.length} from ${blueprint}: ${deleted.join(', ')}`),
    )
  }
}

/** The portal names its query parameter (`delete_dependents=true`); on the command line it is a flag. */
function inFlagTerms(error: unknown): unknown {
  if (!(error instanceof ApiError) || error.portError !== 'has_dependents') return error
  return new IdpError(error.message.replace(/;? (delete it first )?or pass delete_dependents=true\.?$/, '.'), {
    code: error.code,
    exitCode: error.exitCode,
    hint: 'Delete the entities that require it first, or pass --delete-dependents to delete them too.',
  })
}
