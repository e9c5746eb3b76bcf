import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import type {Entity} from '../../model/port.js'
import {printTable} from '../../io/table.js'
import {filtersToQuery} from '../../services/entity-filter.js'

export default class EntityList extends BaseCommand<typeof EntityList> {
  static override summary = "List a blueprint's entities."
  static override description =
    'Pages through the entities of one blueprint. --filter narrows them by property, relation or meta-property ($identifier, $title, $team …); several filters must all match.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> --blueprint Component',
    '<%= config.bin %> <%= command.id %> --blueprint Component --filter type=service --filter system=Cart',
    '<%= config.bin %> <%= command.id %> --blueprint Component --json',
  ]
  static override flags = {
    blueprint: Flags.string({char: 'b', required: true, summary: 'Blueprint identifier.'}),
    filter: Flags.string({char: 'f', multiple: true, summary: 'Only entities where property=value (repeatable).'}),
    limit: Flags.integer({min: 1, summary: 'Return at most this many entities.'}),
  }

  async run(): Promise<{entities: Entity[]}> {
    const {client} = await this.connect()
    const {blueprint, filter = [], limit} = this.flags
    const query = filter.length > 0 ? filtersToQuery(filter, await client.blueprints.get(blueprint)) : undefined
    const entities: Entity[] = []
    for await (const entity of client.entities.search(blueprint, query, limit)) entities.push(entity)
    return this.emit({entities}, () =>
      printTable(this.io, entities, [
        {get: (entity) => entity.identifier, header: 'IDENTIFIER'},
        {get: (entity) => entity.title, header: 'TITLE'},
        {get: (entity) => (entity.team ?? []).join(', '), header: 'TEAM'},
        {get: (entity) => summarize(entity.properties), header: 'PROPERTIES'},
      ]),
    )
  }
}

/** `key=value` pairs, short enough for one table cell. */
function summarize(properties: Record<string, unknown>): string {
  const text = Object.entries(properties)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ')
  return text.length > 60 ? text.slice(0, 59) + '…' : text
}
