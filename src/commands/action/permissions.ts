import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import type {ActionPermissions, PermissionBlock} from '../../model/port.js'
import {usageError, validationError} from '../../errors.js'
import {readDataFile} from '../../shared/data-file.js'

export default class ActionPermissionsCommand extends BaseCommand<typeof ActionPermissionsCommand> {
  static override summary = 'Show or change who may execute an action and who approves its runs.'
  static override description = `Without --set, shows the action's permissions. --set takes Port's permissions object (JSON or YAML; - reads stdin): each of "execute" and "approve" replaces the keys it names, e.g. {"execute": {"roles": [], "teams": ["platform"]}, "approve": {"users": ["lead@example.com"]}}. Changing permissions needs an admin credential.`
  static override examples = [
    '<%= config.bin %> <%= command.id %> update_pod_count',
    '<%= config.bin %> <%= command.id %> update_pod_count --set permissions.json',
    `echo '{"approve": {"roles": [], "teams": ["platform"]}}' | <%= config.bin %> <%= command.id %> update_pod_count --set -`,
  ]
  static override args = {action: Args.string({description: 'Action identifier.', required: true})}
  static override flags = {set: Flags.string({summary: 'Permission changes to apply, as a file; - reads stdin.'})}

  async run(): Promise<{permissions: ActionPermissions}> {
    const changes =
      this.flags.set === undefined ? undefined : await readChanges(this.flags.set, () => this.io.readInput())
    const {client} = await this.connect()
    const permissions = changes
      ? await client.actions.updatePermissions(this.args.action, changes)
      : await client.actions.permissions(this.args.action)
    return this.emit({permissions}, () => {
      const line = (label: string, block: PermissionBlock) => {
        const who = [
          ...block.roles.map((role) => `role ${role}`),
          ...block.teams.map((team) => `team ${team}`),
          ...block.users,
          ...(block.ownedByTeam ? ["the entity's team"] : []),
        ]
        const rule = block.policy
          ? `policy (${block.policy.conditions.length} condition(s))`
          : who.join(', ') || 'nobody'
        this.io.out(`${label.padEnd(9)}${rule}`)
      }
      line('execute', permissions.execute)
      line('approve', permissions.approve)
    })
  }
}

async function readChanges(file: string, stdin: () => string): Promise<Partial<ActionPermissions>> {
  let parsed: unknown
  try {
    parsed = await readDataFile(file, stdin)
  } catch (error) {
    throw usageError(`--set ${file}: ${(error as Error).message}`)
  }
  const {schemas} = await import('../../schemas/registry.js')
  const result = schemas().validate('idp:api-requests#/$defs/actionPermissions', parsed)
  if (!result.ok) {
    throw validationError(
      `--set ${file} is not a permissions object:\n${result.issues.map((issue) => `  ${issue.pointer || '/'} ${issue.message}`).join('\n')}`,
      'Keys: execute {users, roles, teams, ownedByTeam, policy} and approve {users, roles, teams, policy}.',
    )
  }
  return parsed as Partial<ActionPermissions>
}
