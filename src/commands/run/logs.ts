import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import type {Run, RunLog} from '../../model/port.js'
import {runView} from '../../io/run-view.js'
import {followRun} from '../../services/run-watch.js'

export default class RunLogs extends BaseCommand<typeof RunLogs> {
  static override summary = "Print an action run's logs."
  static override description =
    'Prints every log line of a run, oldest first. --follow keeps printing new lines until the run ends (as `idp run watch`).'
  static override examples = [
    '<%= config.bin %> <%= command.id %> r_QOz6WoOB1Q2lmhZZ',
    '<%= config.bin %> <%= command.id %> r_QOz6WoOB1Q2lmhZZ --follow',
  ]
  static override args = {id: Args.string({description: 'Run id (r_…).', required: true})}
  static override flags = {follow: Flags.boolean({char: 'f', summary: 'Keep following until the run ends.'})}

  async run(): Promise<{logs: RunLog[]} | {run: Run}> {
    const {client} = await this.connect()
    if (this.flags.follow) {
      const run = await client.runs.get(this.args.id)
      return {
        run: (
          await followRun(run, {
            client,
            view: await runView(run, {io: this.io, json: this.jsonOutput ? this.printJsonLine : undefined}),
          })
        ).run,
      }
    }
    const logs: RunLog[] = []
    for (
      let page = await client.runs.logs(this.args.id, 0);
      ;
      page = await client.runs.logs(this.args.id, logs.length)
    ) {
      logs.push(...page)
      if (page.length < 50) break
    }
    logs.sort((a, b) => a.createdAt.localeCompare(b.createdAt))
    return this.emit({logs}, () => {
      for (const log of logs) this.io.out(`${this.io.color.dim(log.createdAt)} ${log.message}`)
    })
  }
}
