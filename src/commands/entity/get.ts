import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import type {Entity} from '../../model/port.js'
import {printEntity} from '../../io/entity-view.js'

export default class EntityGet extends BaseCommand<typeof EntityGet> {
  static override summary = 'Show one entity.'
  static override description = "Shows an entity's title, team, properties and relations."
  static override examples = ['<%= config.bin %> <%= command.id %> CartService --blueprint Component']
  static override args = {identifier: Args.string({description: 'Entity identifier.', required: true})}
  static override flags = {blueprint: Flags.string({char: 'b', required: true, summary: 'Blueprint identifier.'})}

  async run(): Promise<{entity: Entity}> {
    const {client} = await this.connect()
    const entity = await client.entities.get(this.flags.blueprint, this.args.identifier)
    return this.emit({entity}, () => printEntity(this.io, this.flags.blueprint, entity))
  }
}
