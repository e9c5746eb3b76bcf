import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import type {Action, Entity, Run} from '../../model/port.js'
import {encryptInput} from '../../domain/secret-inputs.js'
import {usageError} from '../../errors.js'
import {runView, runUrl} from '../../io/run-view.js'
import {followRun} from '../../services/run-watch.js'
import {fillForm} from '../../services/action-form.js'
import type {Prompter} from '../../prompts/prompter.js'
import {entitySearch, equivalentCommand, exampleValue, givenInputs} from '../../services/action-run.js'
import {shellQuote} from '../../shared/shell-quote.js'

export default class ActionRun extends BaseCommand<typeof ActionRun> {
  static override summary = 'Run a self-service action and follow it to the end.'
  static override description = `Asks for the action's inputs on a terminal (entity pickers, choices, secrets masked, times like "5d"), or takes them from --input and --inputs-file; then starts the run and shows its status, links and logs until it ends.
Without a terminal (or with --no-input, or CI set) nothing is asked: a missing required input is a usage error that lists how to pass it.
Exit codes: 0 SUCCESS, 9 FAILURE, 10 DECLINED, 11 --timeout passed (the run goes on), 130 Ctrl-C (the run goes on). With --json, one JSON event a line.`
  static override examples = [
    '<%= config.bin %> <%= command.id %> create_dev_env',
    '<%= config.bin %> <%= command.id %> create_dev_env --input name=my-env --input ttl=5d',
    '<%= config.bin %> <%= command.id %> extend_ttl --entity my-env --input days=3 --no-wait',
    'echo \'{"name": "my-env"}\' | <%= config.bin %> <%= command.id %> create_dev_env --inputs-file - --json',
  ]
  static override args = {action: Args.string({description: 'Action identifier.', required: true})}
  static override flags = {
    'dry-run': Flags.boolean({summary: 'Check the inputs and print what would be sent; start nothing.'}),
    entity: Flags.string({char: 'e', summary: 'Entity to run a DAY-2 or DELETE action on.'}),
    input: Flags.string({char: 'i', multiple: true, summary: 'An input value, key=value (repeatable).'}),
    'inputs-file': Flags.string({summary: 'Input values as a JSON or YAML object; - reads stdin.'}),
    'no-wait': Flags.boolean({summary: 'Print the run and return without following it.'}),
    timeout: Flags.string({summary: 'Stop following after this long, e.g. 10m (exit 11; the run goes on).'}),
  }

  async run() {
    const timeoutMs = this.flags.timeout === undefined ? undefined : this.duration('timeout', this.flags.timeout)
    const {client, target} = await this.connect()
    const fetched = this.orSuggest(
      () => client.actions.get(this.args.action),
      this.args.action,
      async () => (await client.actions.list()).map((action) => action.identifier),
    )
    fetched.catch(() => undefined) // awaited below; this only keeps it from counting as unhandled meanwhile
    // The prompt library loads while the action's definition is on its way: the first question
    // then shows as soon as the definition arrives.
    const prompter = this.io.canPrompt ? await loadPrompter() : undefined
    const action = await fetched
    if (action.trigger.type !== 'self-service')
      throw usageError(`"${action.identifier}" is an automation; it runs on events, not by hand.`)
    const entity = await this.targetEntity(action, prompter)
    const typed: Record<string, string> = {}
    const given = await givenInputs(
      action,
      {input: this.flags.input, inputsFile: this.flags['inputs-file'], stdin: () => this.io.readInput()},
      new Date(),
      typed,
    )

    const {InlineJq} = await import('../../jq/engine.js')
    const jq = new InlineJq()
    const form = await fillForm({
      action,
      entity,
      given,
      jq,
      clock: () => new Date(),
      paint: (color, text) => {
        const paint = (this.io.color as unknown as Record<string, ((text: string) => string) | undefined>)[color]
        return typeof paint === 'function' ? paint(text) : text
      },
      prompter,
      searchEntities: entitySearch(client),
      user: {email: `${target.credentials?.clientId ?? ''}@clients`},
    })
    await jq.close()

    const inputs = action.trigger.userInputs?.properties ?? {}
    if (form.missing.length > 0) {
      const lines = form.missing.map(
        ({input, name}) =>
          `  ${name} (${input.type}${input.format ? `, ${input.format}` : ''}): --input ${name}=${exampleValue(name, input)}`,
      )
      const example = [
        'idp action run',
        shellQuote(action.identifier),
        ...(entity ? ['--entity', shellQuote(entity.identifier)] : []),
        ...form.missing.map(({input, name}) => `--input ${name}=${exampleValue(name, input)}`),
      ].join(' ')
      throw usageError(
        `Missing required inputs of "${action.identifier}":\n${lines.join('\n')}`,
        `Example: ${example}`,
        {
          missing: form.missing.map(({name}) => name),
        },
      )
    }
    if (form.issues.length > 0) {
      const lines = form.issues.map((issue) => {
        const name = issue.input.split('/')[0]!
        const fix = inputs[name] ? ` (fix with --input ${name}=${exampleValue(name, inputs[name])})` : ''
        return `  ${issue.input}: ${issue.message}${fix}`
      })
      throw usageError(`Invalid inputs for "${action.identifier}":\n${lines.join('\n')}`)
    }

    const properties = {...form.values}
    for (const [name, input] of Object.entries(inputs)) {
      if (input.encryption && properties[name] !== undefined)
        properties[name] = encryptInput(properties[name], input.encryption, target.credentials?.clientSecret)
    }
    const body = {properties, ...(entity ? {entity: entity.identifier} : {})}
    if (this.flags['dry-run']) {
      const shown = Object.fromEntries(
        Object.entries(properties).map(([name, value]) => [name, inputs[name]?.encryption ? '[encrypted]' : value]),
      )
      return this.emit({action: action.identifier, body: {...body, properties: shown}, dryRun: true}, () => {
        this.io.err(`Dry run: would start "${action.identifier}" with:`)
        this.io.out(JSON.stringify({...body, properties: shown}, null, 2))
      })
    }

    const run = await client.runs.create(action.identifier, body)
    this.announce(run, target.apiUrl)
    if (form.asked.length > 0 && !this.jsonOutput) {
      const {command, omitted} = equivalentCommand(action, entity?.identifier, form.values, {...typed, ...form.typed})
      this.io.err(
        this.io.color.dim(
          `To run this again without prompts:\n  ${command}${omitted.length ? `\n  (secret inputs left out: ${omitted.join(', ')}; pass them with --input or --inputs-file)` : ''}`,
        ),
      )
    }
    if (this.flags['no-wait']) {
      if (!this.jsonOutput) this.io.out(run.id)
      return {run}
    }
    const result = await followRun(run, {
      client,
      timeoutMs,
      view: await runView(run, {io: this.io, json: this.jsonOutput ? this.printJsonLine : undefined}),
    })
    return {run: result.run}
  }

  /** The run id at once: on stderr for people, as the first JSON event with --json. */
  private announce(run: Run, apiUrl: string) {
    const url = runUrl(apiUrl, run.id)
    if (this.jsonOutput) this.printJsonLine({event: 'created', run, ...(url ? {url} : {})})
    this.io.err(`Run ${this.io.color.bold(run.id)} started${url ? `: ${url}` : ''}`)
  }

  private async targetEntity(action: Action, prompter: Prompter | undefined): Promise<Entity | undefined> {
    const {blueprintIdentifier: blueprint, operation} = action.trigger
    if (operation === 'CREATE' || !blueprint) {
      if (this.flags.entity)
        throw usageError(`--entity: "${action.identifier}" is a CREATE action; it does not run on an entity.`)
      return undefined
    }
    const {client} = await this.connect()
    if (this.flags.entity) return client.entities.get(blueprint, this.flags.entity)
    if (!prompter) {
      throw usageError(
        `"${action.identifier}" is a ${operation} action: name the ${blueprint} entity to run it on.`,
        `Example: idp action run ${shellQuote(action.identifier)} --entity <${blueprint} identifier>`,
      )
    }
    const search = entitySearch(client)
    const identifier = await prompter.search<string>({
      message: `${blueprint} to run "${action.title ?? action.identifier}" on (type to search)`,
      source: async (term) =>
        (await search(blueprint, undefined, term)).map((entity) => ({
          name: entity.title ? `${entity.title} (${entity.identifier})` : entity.identifier,
          value: entity.identifier,
        })),
    })
    return client.entities.get(blueprint, identifier)
  }
}

async function loadPrompter(): Promise<Prompter> {
  const {inquirerPrompter, preloadPrompts} = await import('../../prompts/prompter.js')
  await preloadPrompts()
  return inquirerPrompter()
}
