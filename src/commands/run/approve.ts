import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import type {Run} from '../../model/port.js'

export default class RunApprove extends BaseCommand<typeof RunApprove> {
  static override summary = 'Approve an action run that waits for approval.'
  static override description = 'Moves a WAITING_FOR_APPROVAL run on to its backend.'
  static override examples = ['<%= config.bin %> <%= command.id %> r_QOz6WoOB1Q2lmhZZ --reason "change ticket CHG-42"']
  static override args = {id: Args.string({description: 'Run id (r_…).', required: true})}
  static override flags = {reason: Flags.string({summary: 'A note recorded with the approval.'})}

  async run(): Promise<{run: Run}> {
    const {client} = await this.connect()
    const run = await client.runs.approve(this.args.id, {
      status: 'APPROVE',
      ...(this.flags.reason ? {description: this.flags.reason} : {}),
    })
    // With ALL approvals the run waits for the other approvers (its label says how many approved).
    const label = run.statusLabel ? ` (${run.statusLabel})` : ''
    return this.emit({run}, () => this.io.out(`Approved ${run.id}; it is now ${run.status}${label}.`))
  }
}
