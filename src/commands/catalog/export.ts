import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {exportCatalog} from '../../services/catalog.js'

export default class CatalogExport extends BaseCommand<typeof CatalogExport> {
  static override summary = "Write the portal's blueprints and entities as catalog files."
  static override description =
    'Writes blueprints/<id>.json and entities/<blueprint>/<id>.json into DIR, in the format `catalog sync` reads: `catalog plan` on the result shows no changes. Refuses a folder that already holds catalog files unless --force.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> catalog',
    '<%= config.bin %> <%= command.id %> catalog --blueprint Component --blueprint API',
  ]
  static override args = {dir: Args.string({default: 'catalog', description: 'Folder to write.'})}
  static override flags = {
    blueprint: Flags.string({char: 'b', multiple: true, summary: 'Only these blueprints (repeatable).'}),
    force: Flags.boolean({summary: 'Write into a folder that already holds catalog files.'}),
  }

  async run() {
    const {client} = await this.connect()
    const result = await exportCatalog(client, this.args.dir, {
      blueprints: this.flags.blueprint,
      force: this.flags.force,
    })
    return this.emit(result, () =>
      this.io.out(`Exported ${result.blueprints} blueprints and ${result.entities} entities to ${result.dir}.`),
    )
  }
}
