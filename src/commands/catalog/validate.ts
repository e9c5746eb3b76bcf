import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {validationError} from '../../errors.js'
import {printProblems, problemJson, problemsIn} from '../../io/problems.js'
import {catalogDir, validateFolder} from '../../services/catalog.js'

export default class CatalogValidate extends BaseCommand<typeof CatalogValidate> {
  static override summary = 'Check a catalog folder: JSON, blueprints, entities and relations.'
  static override description = `Reads every *.json, *.yaml and *.yml below DIR. A document with a "schema" is a blueprint; any other is an entity, whose blueprint is its "blueprint" field or else the name of the folder it sits in.
Offline by default: entities are checked against blueprints in the folder, and relation targets must be in the folder. --remote also uses the portal's blueprints and entities.
Problems are reported as file:line:column with the JSON pointer of the field; exits 3 when there is any error.`
  static override examples = [
    '<%= config.bin %> <%= command.id %> examples/catalog',
    '<%= config.bin %> <%= command.id %> catalog --remote',
    '<%= config.bin %> <%= command.id %> catalog --format github  # annotations in GitHub Actions',
  ]
  static override args = {
    dir: Args.string({description: 'Catalog folder. [default: the current folder, when it is a catalog folder]'}),
  }
  static override flags = {
    format: Flags.option({default: 'text', options: ['text', 'github'] as const, summary: 'Problem format.'})(),
    remote: Flags.boolean({summary: "Also check against the portal's blueprints and entities."}),
  }

  async run() {
    const dir = catalogDir(this.args.dir, 'catalog validate')
    const client = this.flags.remote ? (await this.connect()).client : undefined
    const {catalog, errors, warnings} = await validateFolder(dir, client)
    const result = {
      actions: catalog.actions.length,
      blueprints: catalog.blueprints.length,
      entities: catalog.entities.length,
      errors: errors.map(problemJson),
      files: catalog.files,
      valid: errors.length === 0,
      warnings: warnings.map(problemJson),
    }
    if (this.jsonOutput) await this.printJson(result)
    else {
      printProblems(this.io, [...errors, ...warnings], this.flags.format)
      const counts = `${catalog.files} files: ${catalog.blueprints.length} blueprints, ${catalog.actions.length} actions, ${catalog.entities.length} entities`
      if (errors.length === 0)
        this.io.err(
          `${this.io.color.green('✓')} ${counts}, valid${warnings.length ? ` (${warnings.length} warning${warnings.length === 1 ? '' : 's'})` : ''}.`,
        )
    }
    if (errors.length > 0) {
      const error = validationError(`${problemsIn(errors.length, dir)}.`)
      // The problems themselves are already printed; exit with the code and no repeat.
      if (this.jsonOutput) {
        process.exitCode = error.exitCode
        return result
      }
      throw error
    }
    return result
  }
}
