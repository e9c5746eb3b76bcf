import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {OWNERSHIP_BLUEPRINT, type Blueprint} from '../../model/port.js'
import {printTable} from '../../io/table.js'

export default class BlueprintList extends BaseCommand<typeof BlueprintList> {
  static override summary = 'List blueprints.'
  static override description = `Lists the portal's blueprints with their properties and relations, Port's _team and _user included. idp's own ownership records (${OWNERSHIP_BLUEPRINT}) are left out unless --all.`
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json']
  static override flags = {
    all: Flags.boolean({summary: `Include idp's internal blueprint (${OWNERSHIP_BLUEPRINT}).`}),
  }

  async run(): Promise<{blueprints: Blueprint[]}> {
    const {client} = await this.connect()
    const blueprints = (await client.blueprints.list()).filter(
      (blueprint) => this.flags.all || blueprint.identifier !== OWNERSHIP_BLUEPRINT,
    )
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
