import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import type {Entity} from '../../model/port.js'

export default class EntityGet extends BaseCommand<typeof EntityGet> {
  static override summary = 'Show one entity.'
  static override description = "Shows an entity's title, team, properties and relations."
  static override examples = ['<%= config.bin %> <%= command.id %> CartService --blueprint Component']
  static override args = {identifier: Args.string({description: 'Entity identifier.', required: true})}
  static override flags = {blueprint: Flags.string({char: 'b', required: true, summary: 'Blueprint identifier.'})}

  async run(): Promise<{entity: Entity}> {
    const {client} = await this.connect()
    const entity = await client.entities.get(this.flags.blueprint, this.args.identifier)
    return this.emit({entity}, () => {
      const {bold} = this.io.color
      const line = (key: string, value: unknown) =>
        this.io.out(`${bold(key.padEnd(14))} ${typeof value === 'string' ? value : JSON.stringify(value)}`)
      line('identifier', entity.identifier)
      line('blueprint', this.flags.blueprint)
      if (entity.title) line('title', entity.title)
      if (entity.team?.length) line('team', entity.team.join(', '))
      for (const [key, value] of Object.entries(entity.properties)) line(key, value)
      for (const [key, value] of Object.entries(entity.relations))
        line(`${key} →`, Array.isArray(value) ? value.join(', ') : value)
    })
  }
}
