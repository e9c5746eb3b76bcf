import {Args} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import type {Blueprint} from '../../model/port.js'
import {printTable} from '../../io/table.js'

export default class BlueprintGet extends BaseCommand<typeof BlueprintGet> {
  static override summary = 'Show one blueprint.'
  static override description = 'Shows a blueprint: its properties with their types, and its relations.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> Component',
    '<%= config.bin %> <%= command.id %> Component --json',
  ]
  static override args = {identifier: Args.string({description: 'Blueprint identifier.', required: true})}

  async run(): Promise<{blueprint: Blueprint}> {
    const {client} = await this.connect()
    const blueprint = await this.orSuggest(
      () => client.blueprints.get(this.args.identifier),
      this.args.identifier,
      async () => (await client.blueprints.list()).map((blueprint) => blueprint.identifier),
    )
    return this.emit({blueprint}, async () => {
      const {bold} = this.io.color
      this.io.out(`${bold(blueprint.title)} (${blueprint.identifier})`)
      if (blueprint.description) this.io.out(blueprint.description)
      const required = new Set(blueprint.schema.required ?? [])
      const rows = [
        ...Object.entries(blueprint.schema.properties ?? {}).map(([name, property]) => ({
          kind: 'property',
          name,
          required: required.has(name),
          type:
            [property.type, property.format].filter(Boolean).join(':') +
            (property.enum ? ` (${property.enum.join('|')})` : ''),
        })),
        ...Object.entries(blueprint.relations ?? {}).map(([name, relation]) => ({
          kind: 'relation',
          name,
          required: relation.required,
          type: `→ ${relation.target}${relation.many ? ' (many)' : ''}`,
        })),
      ]
      await printTable(this.io, rows, [
        {get: (row) => row.name, header: 'NAME'},
        {get: (row) => row.kind, header: 'KIND'},
        {get: (row) => row.type, header: 'TYPE'},
        {get: (row) => (row.required ? 'yes' : ''), header: 'REQUIRED'},
      ])
    })
  }
}
