import {BaseCommand} from '../../base-command.js'
import type {Blueprint} from '../../model/port.js'
import {printTable} from '../../io/table.js'

export default class BlueprintList extends BaseCommand<typeof BlueprintList> {
  static override summary = 'List blueprints.'
  static override description = 'Lists every blueprint in the portal with its properties and relations.'
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json']

  async run(): Promise<{blueprints: Blueprint[]}> {
    const {client} = await this.connect()
    const blueprints = await client.blueprints.list()
    return this.emit({blueprints}, () =>
      printTable(this.io, blueprints, [
        {get: (bp) => bp.identifier, header: 'IDENTIFIER'},
        {get: (bp) => bp.title, header: 'TITLE'},
        {get: (bp) => Object.keys(bp.schema.properties ?? {}).join(', '), header: 'PROPERTIES'},
        {
          get: (bp) =>
            Object.entries(bp.relations ?? {})
              .map(([name, relation]) => `${name}→${relation.target}${relation.many ? '[]' : ''}`)
              .join(', '),
          header: 'RELATIONS',
        },
      ]),
    )
  }
}
