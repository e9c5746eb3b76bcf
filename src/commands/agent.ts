import {hostname} from 'node:os'

import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {usageError} from '../errors.js'
import {Agent, loadHandlers, unknownHandlers} from '../services/agent.js'

export default class AgentCommand extends BaseCommand<typeof AgentCommand> {
  static override summary = 'Run queued actions inside your network: the pull agent.'
  static override description = `Claims runs of agent-bound actions (WEBHOOK with agent: true, KAFKA) from the portal — outbound connections only — and runs each one's handler: the run's payload on stdin; IDP_RUN_ID, IDP_API_URL and IDP_TOKEN (also as PORT_*) in the environment; each output line becomes a run log; exit code 0 ends the run SUCCESS, anything else FAILURE with the last lines as summary. Actions with no handler but a webhook URL are called from here, signed.
Handlers get their own HOME (and config folders), not the agent's saved profile or client secret; they still run as your OS user, so run them as another user (sudo -u) to keep them from your files.
A claimed run that the agent does not acknowledge in --visibility-timeout is handed out again (e.g. when the agent was killed). SIGTERM or Ctrl-C: stop claiming, let runs finish for --grace, release the rest.`
  static override examples = [
    '<%= config.bin %> <%= command.id %> --handler create_dev_env="./handlers/create-dev-env.sh"',
    '<%= config.bin %> <%= command.id %> --handlers examples/handlers --concurrency 8',
  ]
  static override flags = {
    concurrency: Flags.integer({default: 4, min: 1, summary: 'Runs handled at once.'}),
    grace: Flags.string({default: '10s', summary: 'On stop, how long runs in flight may finish.'}),
    handler: Flags.string({multiple: true, summary: 'ACTION=COMMAND, run through /bin/sh (repeatable).'}),
    handlers: Flags.string({summary: 'A folder of executables named after their actions (create_dev_env.sh).'}),
    'handler-home': Flags.string({
      summary:
        "HOME for handlers, so tools they run don't find your saved idp profile. [default: a private temporary folder]",
    }),
    'installation-id': Flags.string({summary: 'How this agent names itself in claims. [default: host name]'}),
    once: Flags.boolean({hidden: true, summary: 'Exit when the queue is empty.'}),
    'poll-interval': Flags.string({default: '1s', summary: 'How often to look for runs when the queue is empty.'}),
    'visibility-timeout': Flags.string({
      default: '5m',
      summary: 'How long a claim lasts before the run is handed out again.',
    }),
  }

  async run(): Promise<{stopped: boolean}> {
    const duration = (flag: 'grace' | 'poll-interval' | 'visibility-timeout') => this.duration(flag, this.flags[flag])
    let handlers
    try {
      handlers = loadHandlers(this.flags.handler ?? [], this.flags.handlers)
    } catch (error) {
      throw usageError((error as Error).message)
    }
    const {client, target} = await this.connect()
    // An unreachable portal is the poll loop's to report and retry; the check is skipped then.
    const actions = handlers.size > 0 ? await client.actions.list().catch(() => undefined) : undefined
    if (actions) {
      const identifiers = actions.map((action) => action.identifier)
      for (const warning of unknownHandlers(handlers, identifiers))
        this.note(`${this.io.color.yellow('Warning:')} ${warning}`)
    }

    const agent = new Agent({
      apiUrl: target.apiUrl,
      client,
      concurrency: this.flags.concurrency,
      handlerHome: this.flags['handler-home'],
      handlers,
      installationId: this.flags['installation-id'] ?? hostname(),
      log: (line) => this.note(line),
      once: this.flags.once,
      pollMs: duration('poll-interval'),
      secret: target.credentials?.clientSecret,
      token: () => client.token(),
      visibilityTimeoutMs: duration('visibility-timeout'),
    })
    const grace = duration('grace')
    const stop = () => void agent.stop(grace)
    process.on('SIGTERM', stop)
    process.on('SIGINT', stop)
    await agent.run()
    await agent.stop(grace)
    process.off('SIGTERM', stop)
    process.off('SIGINT', stop)
    return this.emit({stopped: true}, () => this.note('Agent stopped.'))
  }
}
