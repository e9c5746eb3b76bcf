import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {applyPlan, expectedSummary, type SyncSummary} from '../../catalog/apply.js'
import {ExitCode, IdpError, usageError, validationError} from '../../errors.js'
import {printProblems, problemJson, problemsIn} from '../../io/problems.js'
import {phaseProgress} from '../../io/progress.js'
import {catalogDir, prepareSync} from '../../services/catalog.js'
import {changeName, planJson, planSummary} from '../../services/plan-view.js'
import {plural} from '../../shared/plural.js'
import {catalogFlags} from './plan.js'

export default class CatalogSync extends BaseCommand<typeof CatalogSync> {
  static override summary = 'Apply a catalog folder to the portal.'
  static override description = `Validates the whole folder against the portal first (nothing is written if anything is invalid), then creates and updates blueprints in relation order and entities in bulk, and with --prune deletes what this catalog source created that is gone from the folder — never anything another source or a person created.
Idempotent: a second run writes nothing. Exits 8 when some writes failed; the summary says which, and a rerun converges. Exits 4 when the portal refused writes to these credentials (403): a rerun cannot help, and each refusal says who may make it.`
  static override examples = [
    '<%= config.bin %> <%= command.id %> examples/catalog',
    '<%= config.bin %> <%= command.id %> catalog --dry-run',
    '<%= config.bin %> <%= command.id %> catalog --prune --max-delete 20 --json',
  ]
  static override args = {
    dir: Args.string({description: 'Catalog folder. [default: the current folder, when it is a catalog folder]'}),
  }
  static override flags = {
    ...catalogFlags,
    'dry-run': Flags.boolean({summary: 'Show what would be done; write nothing.'}),
    'max-delete': Flags.integer({
      default: 100,
      min: 0,
      summary: 'Refuse to prune more than this many documents (see --force).',
    }),
  }

  async run() {
    const dir = catalogDir(this.args.dir, 'catalog sync')
    const {client, target} = await this.connect()
    const {flags} = this
    const prepared = await prepareSync(client, dir, {
      adopt: flags.adopt,
      env: process.env,
      force: flags.force,
      prune: flags.prune,
      source: flags.source,
    })
    printProblems(this.io, this.jsonOutput ? [] : [...prepared.errors, ...prepared.warnings], 'text')
    if (prepared.errors.length > 0 && !flags.force) {
      throw validationError(
        `${problemsIn(prepared.errors.length, dir)}; nothing was written.`,
        'Fix them and sync again (`idp catalog validate` lists them).',
        {errors: prepared.errors.map(problemJson)},
      )
    }
    if (prepared.counts.delete > flags['max-delete'] && !flags.force) {
      throw usageError(
        `--prune would delete ${prepared.counts.delete} documents, more than --max-delete ${flags['max-delete']}; nothing was written.`,
        'Check `idp catalog plan --prune`, then raise --max-delete or pass --force.',
      )
    }

    let summary: SyncSummary
    if (flags['dry-run']) {
      summary = expectedSummary(prepared.plan)
    } else {
      const progress = phaseProgress(this.io, !this.jsonOutput)
      summary = await applyPlan(client, prepared.plan, prepared.remote, prepared.ownership, {progress: progress.update})
      progress.done()
    }
    const counts = Object.fromEntries(Object.entries(summary).map(([key, list]) => [key, list.length])) as Record<
      keyof SyncSummary,
      number
    >
    const view = planJson(prepared)
    const {unowned} = view
    const result = {
      apiUrl: target.apiUrl,
      counts,
      dryRun: flags['dry-run'],
      unowned,
      source: prepared.source?.name ?? null,
      ...summary,
    }
    await this.emit(result, () => {
      if (flags['dry-run']) {
        for (const list of ['created', 'updated', 'deleted'] as const) {
          for (const item of summary[list])
            this.io.out(`would ${list.replace(/d$/, '')}: ${item.kind} ${changeName(item)}`)
        }
        this.io.err(planSummary(view) + ' (dry run: nothing written)')
        return
      }
      for (const failure of summary.failed)
        this.io.err(
          `${this.io.color.red('failed')} ${failure.action} ${failure.kind} ${changeName(failure)}: ${failure.message}`,
        )
      this.io.out(
        `Synced ${dir} to ${target.apiUrl}: ${counts.created} created, ${counts.updated} updated, ${counts.unchanged} unchanged, ${counts.deleted} deleted, ${counts.failed} failed.`,
      )
      const left = unowned.filter((item) => !item.adopt).length
      if (left > 0 && prepared.source)
        this.io.err(
          `${left} documents existed before this source synced them and are not owned by it: prune never deletes them (--adopt takes them over).`,
        )
      if (prepared.prunable > 0)
        this.io.err(
          `${prepared.prunable} documents this source created are no longer in the folder; --prune deletes them.`,
        )
    })
    if (summary.failed.length > 0) {
      const error = failedError(summary.failed)
      if (this.jsonOutput) process.exitCode = error.exitCode
      else throw error
    }
    return result
  }
}

/**
 * Writes the portal refused for lack of permission (401/403) cannot succeed on a rerun: they are an
 * auth error (exit 4), and the per-write lines above say who may make them. Anything else is partial.
 */
function failedError(failed: SyncSummary['failed']): IdpError {
  const refused = failed.filter((item) => item.status === 401 || item.status === 403)
  if (refused.length === 0)
    return new IdpError(
      `${plural(failed.length, 'write')} failed; everything else was applied. Run the sync again to retry them.`,
      {code: 'partial', exitCode: ExitCode.PARTIAL},
    )
  const others = failed.length - refused.length
  const rest =
    others === 0 ? 'everything else was applied' : `${plural(others, 'other write')} failed and may succeed on a rerun`
  return new IdpError(
    `${plural(refused.length, 'write')} ${refused.length === 1 ? 'was' : 'were'} refused: these credentials may not make ${refused.length === 1 ? 'it' : 'them'} (${rest}).`,
    {
      code: 'forbidden',
      exitCode: ExitCode.AUTH,
      hint: 'Each refusal above says who may make it: have them run the sync, or ask an admin for those rights. `idp auth status` shows whose credentials these are.',
    },
  )
}
