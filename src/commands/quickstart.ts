import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import type {Entity, Run} from '../model/port.js'
import {parseDuration} from '../shared/when.js'
import {localAdminEmail} from '../config/portal-profile.js'
import {LOCAL_PROFILE, ProfileStore} from '../config/profiles.js'
import {IdpError, ExitCode, usageError} from '../errors.js'
import {runView} from '../io/run-view.js'
import {followRun} from '../services/run-watch.js'
import {printEntities} from '../io/entity-table.js'
import {mergeBranch, startQuickstart, syncCatalog, waitForRun, waitUntilDeleted} from '../services/quickstart.js'

export interface QuickstartResult {
  portal: string
  synced: {created: number; unchanged: number; failed: number}
  run: {id: string; status: string}
  devEnv: Entity | null
  expiry: {environment: string; ttlSeconds: number; deletedAfterSeconds: number | null}
  /** The GitOps example; null when git is not installed. */
  gitops: {resource: string; branch: string; runStatus: string; synced: boolean} | null
  kept: boolean
}

export default class Quickstart extends BaseCommand<typeof Quickstart> {
  static override summary = 'See the whole thing work: portal, catalog, agent, a self-service run and a TTL.'
  static override description = `Starts the embedded portal (in a temporary data directory unless --data-dir), syncs examples/catalog, starts the agent with examples/handlers, runs "Spin up a developer environment" with a 5-day TTL and follows it to SUCCESS, shows the new DevEnv with its expiry, then provisions a cloud resource the GitOps way (a commit on a branch of a local catalog repository, merged and synced), then creates a second environment with a short TTL (--ttl) and shows the clean-up automation deleting it when it expires. Stops everything at the end, unless --keep.`
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --ttl 5s --keep',
  ]
  static override flags = {
    'data-dir': Flags.string({summary: 'Keep the portal data here instead of a temporary folder.'}),
    keep: Flags.boolean({summary: 'Leave the portal and agent running; use them from another terminal.'}),
    port: Flags.integer({default: 0, max: 65_535, min: 0, summary: 'Port for the portal (0 picks a free one).'}),
    ttl: Flags.string({default: '8s', summary: 'TTL of the second environment, whose removal is shown.'}),
  }

  async run(): Promise<QuickstartResult> {
    const shortTtlMs = parseDuration(this.flags.ttl)
    if (shortTtlMs === undefined || shortTtlMs < 1000)
      throw usageError(`--ttl "${this.flags.ttl}" must be a duration of at least 1s, e.g. 8s.`)
    const {bold, dim, green} = this.io.color
    // With --json, stdout carries only the result; the story goes to stderr.
    const show = this.jsonOutput ? {...this.io, out: this.io.err} : this.io
    const step = (n: number, text: string) => this.note(`\n${bold(`${n}.`)} ${text}`)

    step(1, 'Starting the embedded portal and syncing examples/catalog')
    const quick = await startQuickstart({
      adminEmail: localAdminEmail(),
      dataDir: this.flags['data-dir'],
      port: this.flags.port,
      userAgent: `idp/${this.config.version}`,
    })
    let kept = false
    try {
      const {client, portal, sync} = quick
      this.note(
        `   portal ${portal.url} · ${sync.created.length} created, ${sync.unchanged.length} unchanged, ${sync.failed.length} failed`,
      )
      if (sync.failed.length > 0)
        throw new IdpError(`The example catalog did not sync: ${sync.failed[0]!.message}`, {
          code: 'quickstart',
          exitCode: ExitCode.PARTIAL,
        })

      step(2, 'Running "Spin up a developer environment" (5-day TTL), as `idp action run create_dev_env` would')
      const name = `dev-${Date.now().toString(36)}`
      const created = await client.runs.create('create_dev_env', {
        properties: {
          name,
          service: 'CartService',
          size: 'small',
          ttl: new Date(Date.now() + 5 * 86_400_000).toISOString(),
        },
      })
      const followed = await followRun(created, {client, view: await runView(created, {io: show})})
      const run: Run = followed.run

      step(3, 'The new environment in the catalog, as `idp entity list --blueprint DevEnv` shows it')
      const devEnvs: Entity[] = []
      for await (const entity of client.entities.search('DevEnv')) devEnvs.push(entity)
      await printEntities(show, await client.blueprints.get('DevEnv'), devEnvs)
      const devEnv = devEnvs.find((entity) => entity.identifier === name)!

      let gitops: QuickstartResult['gitops'] = null
      if (quick.gitopsRepo) {
        step(4, 'Provisioning a cloud resource the GitOps way (`idp action run provision_resource`)')
        const resource = `orders-db-${Date.now().toString(36)}`
        const branch = `idp/provision-${resource}`
        const provisioned = await client.runs.create('provision_resource', {
          properties: {name: resource, type: 'postgres'},
        })
        const provisionRun = (await followRun(provisioned, {client, view: await runView(provisioned, {io: show})})).run
        let synced = false
        if (provisionRun.status === 'SUCCESS') {
          this.note(
            `   Merging ${branch} in ${quick.gitopsRepo} and running \`idp catalog sync catalog\` there, as CI would`,
          )
          mergeBranch(quick.gitopsRepo, branch)
          const after = await syncCatalog(client, `${quick.gitopsRepo}/catalog`)
          const entity = await client.entities.get('Resource', resource)
          synced = after.failed.length === 0
          this.note(
            `   ${green('✓')} Resource ${entity.identifier} (${String(entity.properties.type)}) is in the catalog`,
          )
        }
        gitops = {branch, resource, runStatus: provisionRun.status, synced}
      } else {
        this.note(dim('\n   (git is not installed: skipping the GitOps example)'))
      }

      const shortName = `${name}-short`
      step(
        gitops ? 5 : 4,
        `A second environment with a ${this.flags.ttl} TTL; the "devenv_ttl_cleanup" automation deletes it when the timer expires`,
      )
      const shortRun = await client.runs.create('create_dev_env', {
        properties: {name: shortName, size: 'small', ttl: new Date(Date.now() + shortTtlMs).toISOString()},
      })
      await waitForRun(client, shortRun.id)
      this.note(`   ${shortName} created; waiting for its TTL…`)
      const waited = await waitUntilDeleted(client, 'DevEnv', shortName, shortTtlMs + 30_000)
      this.note(
        waited === undefined
          ? `   ${shortName} was not deleted in time`
          : `   ${green('✓')} ${shortName} deleted by the automation ${(waited / 1000).toFixed(1)}s later`,
      )

      const result: QuickstartResult = {
        devEnv,
        expiry: {
          deletedAfterSeconds: waited === undefined ? null : Math.round(waited / 100) / 10,
          environment: shortName,
          ttlSeconds: shortTtlMs / 1000,
        },
        gitops,
        kept: this.flags.keep,
        portal: portal.url,
        run: {id: run.id, status: run.status},
        synced: {created: sync.created.length, failed: sync.failed.length, unchanged: sync.unchanged.length},
      }
      if (this.flags.keep) {
        kept = true
        const profiles = await ProfileStore.open(this.config.configDir)
        await profiles.set(LOCAL_PROFILE, {apiUrl: portal.url, ...quick.credentials})
        this.note(`\n${bold('Still running')} (profile "${LOCAL_PROFILE}" points at it). From another terminal:`)
        this.note(
          dim(
            [
              '  idp action run create_dev_env',
              '  idp entity list --blueprint DevEnv',
              '  idp run list',
              ...(quick.gitopsRepo
                ? [`  git -C ${quick.gitopsRepo} log --all --oneline   (provision_resource commits here)`]
                : []),
              'Press Ctrl-C to stop.',
            ].join('\n'),
          ),
        )
        if (this.jsonOutput) await this.printJson(result, {compact: true})
        await new Promise<void>((resolve) => {
          process.on('SIGINT', resolve)
          process.on('SIGTERM', resolve)
        })
        await quick.stop()
        return result
      }
      if (gitops && !gitops.synced)
        throw new IdpError(`The GitOps resource ${gitops.resource} did not reach the catalog.`, {
          code: 'quickstart',
          exitCode: ExitCode.INTERNAL,
        })
      if (waited === undefined)
        throw new IdpError(`${shortName} was not deleted after its TTL.`, {
          code: 'quickstart',
          exitCode: ExitCode.INTERNAL,
        })
      this.note(
        `\n${green('Done.')} Everything was stopped${this.flags['data-dir'] ? '' : ' and the temporary data removed'}. Run with --keep to explore.`,
      )
      return this.emit(result, () => {})
    } finally {
      if (!kept) await quick.stop()
    }
  }
}
