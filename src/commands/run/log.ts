import {Args} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import type {RunLog} from '../../model/port.js'
import {logArguments} from '../../services/run-report.js'

export default class RunLogAdd extends BaseCommand<typeof RunLogAdd> {
  static override summary = "Add a line to an action run's log."
  static override description = `What a CI job or a handler does to report progress on a run. The words after the run id are the line.
RUN_ID may be left out where IDP_RUN_ID (or PORT_RUN_ID) is set: idp agent sets both for its handlers, and a handler's IDP_TOKEN and IDP_API_URL let idp report on that run without a login. In a GitHub workflow Port started, set IDP_RUN_ID from \${{ fromJson(inputs.port_context).runId }}.`
  static override examples = [
    '<%= config.bin %> <%= command.id %> r_QOz6WoOB1Q2lmhZZ "Deploying CartService to staging…"',
    '<%= config.bin %> <%= command.id %> "Tests passed"   # in a handler: the run id comes from IDP_RUN_ID',
  ]
  static override strict = false
  static override args = {
    words: Args.string({
      description: 'RUN_ID (r_…; optional with IDP_RUN_ID set), then the message.',
      // oclif would read a missing argument from piped stdin: in a handler, the run's payload.
      ignoreStdin: true,
      required: true,
    }),
  }

  async run(): Promise<{log: RunLog}> {
    const {message, runId} = logArguments(this.positional, process.env)
    const {client} = await this.connect()
    const log = await client.runs.addLog(runId, {message})
    return this.emit({log}, () => undefined)
  }
}
