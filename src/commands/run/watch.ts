import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import type {Run} from '../../model/port.js'
import {runView} from '../../io/run-view.js'
import {followRun} from '../../services/run-watch.js'

export default class RunWatch extends BaseCommand<typeof RunWatch> {
  static override summary = 'Follow an action run until it ends.'
  static override description = `Shows status changes, links and each log line once until the run ends.
Exit codes: 0 SUCCESS, 9 FAILURE, 10 DECLINED, 11 --timeout passed (the run goes on), 5 no such run, 130 Ctrl-C. With --json, one JSON event a line.`
  static override examples = [
    '<%= config.bin %> <%= command.id %> r_QOz6WoOB1Q2lmhZZ',
    '<%= config.bin %> <%= command.id %> r_QOz6WoOB1Q2lmhZZ --timeout 15m --json',
  ]
  static override args = {id: Args.string({description: 'Run id (r_…).', required: true})}
  static override flags = {timeout: Flags.string({summary: 'Stop watching after this long, e.g. 10m (exit 11).'})}

  async run(): Promise<{run: Run}> {
    const timeoutMs = this.flags.timeout === undefined ? undefined : this.duration('timeout', this.flags.timeout)
    const {client} = await this.connect()
    const run = await this.orSuggest(
      () => client.runs.get(this.args.id),
      this.args.id,
      async () => (await client.runs.list({limit: 100})).map((run) => run.id),
    )
    const result = await followRun(run, {
      client,
      timeoutMs,
      view: await runView(run, {io: this.io, json: this.jsonOutput ? this.printJsonLine : undefined}),
    })
    return {run: result.run}
  }
}
