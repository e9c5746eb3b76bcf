import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import type {Run} from '../../model/port.js'
import {requireRunId, runChanges} from '../../services/run-report.js'

export default class RunUpdate extends BaseCommand<typeof RunUpdate> {
  static override summary = 'Report on an action run: its status, links, summary, label or external id.'
  static override description = `What a CI workflow or a handler does to report on a run it works for (Port's PATCH of a run). --status ends the run (SUCCESS or FAILURE, in any case); --link adds a link (repeatable).
RUN_ID may be left out where IDP_RUN_ID (or PORT_RUN_ID) is set: idp agent sets both for its handlers, and a handler's IDP_TOKEN and IDP_API_URL let idp report on that run without a login. In a GitHub workflow Port started, set IDP_RUN_ID from \${{ fromJson(inputs.port_context).runId }}.`
  static override examples = [
    '<%= config.bin %> <%= command.id %> r_QOz6WoOB1Q2lmhZZ --status-label "Deploying" --link "$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID"',
    '<%= config.bin %> <%= command.id %> r_QOz6WoOB1Q2lmhZZ --status success --summary "Deployed CartService"',
    'IDP_RUN_ID=r_QOz6WoOB1Q2lmhZZ <%= config.bin %> <%= command.id %> --status FAILURE --summary "Tests failed" --json',
  ]
  static override args = {
    // oclif would read a missing argument from piped stdin: in a handler, the run's payload.
    id: Args.string({description: 'Run id (r_…); optional with IDP_RUN_ID set.', ignoreStdin: true}),
  }
  static override flags = {
    status: Flags.string({summary: 'End the run: SUCCESS or FAILURE (any case).'}),
    link: Flags.string({multiple: true, summary: 'A link to show with the run (repeatable).'}),
    summary: Flags.string({summary: 'A one-line summary of the outcome.'}),
    'status-label': Flags.string({summary: 'A short label for what the run is doing now.'}),
    'external-run-id': Flags.string({summary: "The run's id in the system doing the work (e.g. the CI job)."}),
  }

  async run(): Promise<{run: Run}> {
    const runId = requireRunId(this.args.id, process.env)
    const changes = runChanges(this.flags)
    const {client} = await this.connect()
    const run = await client.runs.patch(runId, changes)
    const label = run.statusLabel ? ` (${run.statusLabel})` : ''
    return this.emit({run}, () => this.io.out(`Updated ${run.id}; it is ${run.status}${label}.`))
  }
}
