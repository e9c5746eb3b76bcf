import {Args} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import type {Action} from '../../model/port.js'
import {inputOrder, isJq} from '../../domain/action-inputs.js'
import {printTable} from '../../io/table.js'

export default class ActionGet extends BaseCommand<typeof ActionGet> {
  static override summary = 'Show an action and its inputs.'
  static override description =
    'Shows what an action does and the inputs `idp action run` asks for (or takes with --input).'
  static override examples = [
    '<%= config.bin %> <%= command.id %> create_dev_env',
    '<%= config.bin %> <%= command.id %> create_dev_env --json',
  ]
  static override args = {action: Args.string({description: 'Action identifier.', required: true})}

  async run(): Promise<{action: Action}> {
    const {client} = await this.connect()
    const action = await this.orSuggest(
      () => client.actions.get(this.args.action),
      this.args.action,
      async () => (await client.actions.list()).map((action) => action.identifier),
    )
    return this.emit({action}, async () => {
      const {trigger} = action
      this.io.out(`${this.io.color.bold(action.title ?? action.identifier)} (${action.identifier})`)
      if (action.description) this.io.out(action.description)
      this.io.out(
        `${trigger.type === 'automation' ? `automation on ${trigger.event?.type}` : trigger.operation}${trigger.blueprintIdentifier ? ` · ${trigger.blueprintIdentifier}` : ''} · ${action.invocationMethod.type}${action.requiredApproval ? ' · needs approval' : ''}`,
      )
      const inputs = trigger.userInputs
      if (!inputs) return
      const required = Array.isArray(inputs.required) ? inputs.required : []
      const show = (value: unknown) =>
        value === undefined ? '' : isJq(value) ? `jq: ${value.jqQuery}` : JSON.stringify(value)
      await printTable(
        this.io,
        inputOrder(inputs).map((name) => ({input: inputs.properties[name]!, name})),
        [
          {get: (row) => row.name, header: 'INPUT'},
          {
            get: (row) =>
              [row.input.type, row.input.format, row.input.encryption ? 'secret' : undefined]
                .filter(Boolean)
                .join(', '),
            header: 'TYPE',
          },
          {get: (row) => (required.includes(row.name) ? 'yes' : isJq(inputs.required) ? 'jq' : ''), header: 'REQUIRED'},
          {get: (row) => show(row.input.default), header: 'DEFAULT'},
          {
            get: (row) => (Array.isArray(row.input.enum) ? row.input.enum.join(' | ') : show(row.input.enum)),
            header: 'CHOICES',
          },
        ],
      )
    })
  }
}
