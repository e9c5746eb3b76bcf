import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {usageError} from '../../errors.js'
import type {Entity} from '../../model/port.js'
import {printEntity} from '../../io/entity-view.js'
import {
  bulkFailure,
  checkEntities,
  entityFromFlags,
  readableBlueprint,
  readEntityFile,
  upsertMany,
  upsertOne,
  uncheckedEntities,
  type BulkOutcome,
  type EntitySource,
} from '../../services/entity-upsert.js'

export default class EntityUpsert extends BaseCommand<typeof EntityUpsert> {
  static override summary = 'Create or update entities of a blueprint.'
  static override description = `One entity from flags, or entities as JSON (YAML for .yaml files) from --file: one object, or an array written with Port's bulk route, 20 a request, each item's error listed by its index. Everything is checked against the blueprint before anything is sent; problems name the flag, or the file, line, column and JSON pointer.
--property values are typed by the blueprint: numbers, true/false, JSON for objects and arrays (or one array item per flag); null clears a value. --relation is repeatable for many-relations; an empty target clears it.
A run's token (a handler's IDP_TOKEN) may not read blueprints: then values are read as JSON where they parse, and the portal alone checks them.
Without --merge the entity is replaced (what is left out is cleared); with --merge only what is given changes. --run-id records the change as made by that run (Port's run_id), as a handler or CI job reporting on a run does. Inside a handler idp agent started it defaults to IDP_RUN_ID, and the handler's IDP_TOKEN may write entities only for that run.`
  static override examples = [
    '<%= config.bin %> <%= command.id %> Component --identifier CartService --title "Cart Service" --property type=service --property replicas=3 --relation system=Cart',
    '<%= config.bin %> <%= command.id %> Component --identifier CartService --merge --property replicas=4',
    '<%= config.bin %> <%= command.id %> Component --file components.json',
    'cat envs.json | <%= config.bin %> <%= command.id %> DevEnv --file - --run-id r_QOz6WoOB1Q2lmhZZ --json',
  ]
  static override args = {
    // ignoreStdin: oclif would take a missing BLUEPRINT from piped stdin, which here is --file's.
    blueprint: Args.string({description: 'Blueprint identifier.', ignoreStdin: true, required: true}),
  }
  static override flags = {
    identifier: Flags.string({summary: 'Entity identifier (Port makes one when left out).'}),
    title: Flags.string({char: 't', summary: 'Entity title.'}),
    icon: Flags.string({summary: 'Entity icon.'}),
    property: Flags.string({char: 'p', multiple: true, summary: 'A property as name=value, typed by the blueprint.'}),
    relation: Flags.string({char: 'r', multiple: true, summary: 'A relation as name=target (repeat for many).'}),
    team: Flags.string({multiple: true, summary: 'An owning team (repeatable).'}),
    file: Flags.string({char: 'f', summary: 'Entities as JSON: one object or an array; - reads stdin.'}),
    merge: Flags.boolean({summary: 'Change only the fields given; keep the rest.'}),
    'run-id': Flags.string({env: 'IDP_RUN_ID', summary: 'Record the change as made by this run (r_…).'}),
  }

  async run(): Promise<{entity: Entity} | BulkOutcome> {
    const {blueprint: id} = this.args
    const {file, merge, 'run-id': runId} = this.flags
    const fromFlags = ['identifier', 'title', 'icon', 'property', 'relation', 'team'] as const
    const given = fromFlags.filter((name) => this.flags[name] !== undefined)
    if (file !== undefined && given.length > 0)
      throw usageError(
        `--file cannot be combined with --${given[0]}.`,
        'Put every field in the file, or use flags only.',
      )
    if (file === undefined && given.length === 0)
      throw usageError(
        'Nothing to upsert: give the entity with flags (--identifier, --property …) or --file.',
        `Example: idp entity upsert ${id} --identifier my-entity --title "My entity"`,
      )
    // Read the file before connecting: a typo in its name or JSON costs no request.
    const read = file === undefined ? undefined : await readEntityFile(file)

    const {client} = await this.connect()
    const blueprint = await this.orSuggest(
      () => readableBlueprint(client, id),
      id,
      async () => (await client.blueprints.list()).map((found) => found.identifier),
    )
    const source: EntitySource = read?.source ?? {kind: 'flags'}
    const input = read?.entities ?? [entityFromFlags(this.flags, blueprint)]
    const entities = blueprint ? await checkEntities(input, blueprint, {merge, source}) : uncheckedEntities(input, id)
    const options = {merge, ...(runId ? {runId} : {})}

    if (source.kind === 'flags' || !source.list) {
      const entity = await upsertOne(client, id, entities[0]!, options)
      return this.emit({entity}, () => printEntity(this.io, id, entity))
    }
    const outcome = await upsertMany(client, id, entities, options)
    await this.emit(outcome, () => {
      const created = outcome.entities.filter((item) => item.created).length
      this.io.out(
        `Upserted ${outcome.entities.length} ${id} entities (${created} created, ${outcome.entities.length - created} updated).`,
      )
      for (const error of outcome.errors)
        this.io.err(`${this.io.color.red('✗')} [${error.index}] ${error.identifier}: ${error.message}`)
    })
    if (outcome.errors.length > 0) {
      const error = bulkFailure(outcome)
      if (this.jsonOutput) process.exitCode = error.exitCode
      else throw error
    }
    return outcome
  }
}
