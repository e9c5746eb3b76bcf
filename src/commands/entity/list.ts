import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import type {Entity} from '../../model/port.js'
import {printEntities} from '../../io/entity-table.js'
import {chooseColumns} from '../../io/entity-columns.js'
import {filtersToQuery} from '../../services/entity-filter.js'

export default class EntityList extends BaseCommand<typeof EntityList> {
  static override summary = "List a blueprint's entities."
  static override description = `Pages through the entities of one blueprint. --filter narrows them by property, relation or meta-property ($identifier, $title, $team …); several filters must all match.
On a terminal the table shows the identifier, title, the blueprint's properties and single relations (the widest columns give way to the terminal's width), with times relative to now ("in 5 days", "2m ago"). --columns picks the columns and their order. Piped, the same columns come as tab-separated rows with times as ISO; --json gives the entities whole.`
  static override examples = [
    '<%= config.bin %> <%= command.id %> --blueprint Component',
    '<%= config.bin %> <%= command.id %> --blueprint Component --filter type=service --filter system=Cart',
    '<%= config.bin %> <%= command.id %> --blueprint DevEnv --columns identifier,ttl,updatedAt',
    '<%= config.bin %> <%= command.id %> --blueprint Component --json',
  ]
  static override flags = {
    blueprint: Flags.string({char: 'b', required: true, summary: 'Blueprint identifier.'}),
    columns: Flags.string({
      char: 'c',
      delimiter: ',',
      multiple: true,
      summary: 'Columns to show: identifier, title, team, createdAt, updatedAt, properties, relations.',
    }),
    filter: Flags.string({char: 'f', multiple: true, summary: 'Only entities where property=value (repeatable).'}),
    limit: Flags.integer({min: 1, summary: 'Return at most this many entities.'}),
  }

  async run(): Promise<{entities: Entity[]}> {
    const {client} = await this.connect()
    const {blueprint, columns, filter = [], limit} = this.flags
    const definition = await this.orSuggest(
      () => client.blueprints.get(blueprint),
      blueprint,
      async () => (await client.blueprints.list()).map((found) => found.identifier),
    )
    chooseColumns(definition, columns) // a mistyped --columns fails before anything is fetched
    const query = filter.length > 0 ? filtersToQuery(filter, definition) : undefined
    const entities: Entity[] = []
    for await (const entity of client.entities.search(blueprint, query, limit)) entities.push(entity)
    return this.emit({entities}, () => printEntities(this.io, definition, entities, columns))
  }
}
