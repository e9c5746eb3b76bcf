import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {upperCaseOption} from '../../flags.js'
import type {Action} from '../../model/port.js'
import {printTable} from '../../io/table.js'

export default class ActionList extends BaseCommand<typeof ActionList> {
  static override summary = 'List self-service actions.'
  static override description =
    'Lists the self-service actions you can run with `idp action run`, optionally for one blueprint or operation.'
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --blueprint DevEnv --operation DAY-2',
  ]
  static override flags = {
    blueprint: Flags.string({char: 'b', summary: 'Only actions of this blueprint.'}),
    operation: upperCaseOption(['CREATE', 'DAY-2', 'DELETE'], 'Only actions of this operation (any case).'),
  }

  async run(): Promise<{actions: Action[]}> {
    const {client} = await this.connect()
    const actions = await client.actions.list({
      ...(this.flags.blueprint ? {blueprint: [this.flags.blueprint]} : {}),
      ...(this.flags.operation ? {operation: [this.flags.operation]} : {}),
      triggerType: 'self-service',
    })
    return this.emit({actions}, () =>
      printTable(this.io, actions, [
        {get: (action) => action.identifier, header: 'IDENTIFIER'},
        {get: (action) => action.title, header: 'TITLE'},
        {get: (action) => action.trigger.operation, header: 'OPERATION'},
        {get: (action) => action.trigger.blueprintIdentifier, header: 'BLUEPRINT'},
        {get: (action) => Object.keys(action.trigger.userInputs?.properties ?? {}).join(', '), header: 'INPUTS'},
      ]),
    )
  }
}
