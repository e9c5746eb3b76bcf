import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {ExitCode, validationError} from '../../errors.js'
import {printProblems, problemJson, problemsIn} from '../../io/problems.js'
import {printTable} from '../../io/table.js'
import {catalogDir, prepareSync} from '../../services/catalog.js'
import {changeName, changeText, planJson, planMarkdown, planSummary} from '../../services/plan-view.js'

export const catalogFlags = {
  adopt: Flags.boolean({
    summary:
      'Take ownership of documents in the folder that already exist and no source owns (prune may then delete them).',
  }),
  force: Flags.boolean({
    summary: 'Go ahead despite invalid files, documents owned by another source, or --max-delete.',
  }),
  prune: Flags.boolean({summary: 'Delete what this catalog source created that is no longer in the folder.'}),
  source: Flags.string({
    env: 'IDP_CATALOG_SOURCE',
    summary: 'Name of this catalog source, for --prune. [default: git remote + path, or "source" in idp-catalog.json]',
  }),
}

export default class CatalogPlan extends BaseCommand<typeof CatalogPlan> {
  static override summary = 'Show what `catalog sync` would change on the portal.'
  static override description = `Validates DIR against the portal, then lists blueprints and entities to create, to update (with the changed fields) and, with --prune, to delete. Only fields the files manage are compared.
--format markdown prints a table for a pull-request comment. Writes nothing.`
  static override examples = [
    '<%= config.bin %> <%= command.id %> examples/catalog',
    '<%= config.bin %> <%= command.id %> catalog --prune --format markdown > plan.md',
    '<%= config.bin %> <%= command.id %> catalog --detailed-exitcode  # in CI: 0 nothing to do, 12 changes, 3 invalid',
  ]
  static override args = {
    dir: Args.string({description: 'Catalog folder. [default: the current folder, when it is a catalog folder]'}),
  }
  static override flags = {
    ...catalogFlags,
    format: Flags.option({default: 'table', options: ['table', 'markdown'] as const, summary: 'Output format.'})(),
    'detailed-exitcode': Flags.boolean({
      summary: "Exit 12 when there are changes, 0 when there are none (Terraform's -detailed-exitcode).",
    }),
  }

  async run() {
    const dir = catalogDir(this.args.dir, 'catalog plan')
    const {client} = await this.connect()
    const prepared = await prepareSync(client, dir, {
      adopt: this.flags.adopt,
      env: process.env,
      force: this.flags.force,
      prune: this.flags.prune,
      source: this.flags.source,
    })
    const view = planJson(prepared)
    const result = {...view, errors: prepared.errors.map(problemJson), warnings: prepared.warnings.map(problemJson)}
    if (this.jsonOutput) await this.printJson(result)
    else {
      printProblems(this.io, [...prepared.errors, ...prepared.warnings], 'text')
      if (this.flags.format === 'markdown') this.io.out(planMarkdown(view))
      else if (prepared.errors.length === 0) {
        await printTable(this.io, view.changes, [
          {get: (change) => change.action, header: 'ACTION'},
          {get: (change) => change.kind, header: 'KIND'},
          {get: (change) => changeName(change), header: 'IDENTIFIER'},
          {get: (change) => changeText(change), header: 'CHANGES'},
        ])
        this.io.err(planSummary(view))
      }
    }
    if (prepared.errors.length > 0) {
      if (this.jsonOutput) process.exitCode = 3
      else throw validationError(`${problemsIn(prepared.errors.length, dir)}; fix them before syncing.`)
    } else if (this.flags['detailed-exitcode'] && view.counts.create + view.counts.update + view.counts.delete > 0) {
      process.exitCode = ExitCode.PLAN_CHANGES
    }
    return result
  }
}
