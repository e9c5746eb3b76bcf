import {usageError} from '../errors.js'
import type {Run} from '../model/port.js'

/** Where a handler or workflow finds the run it works for: idp agent sets both. */
export const RUN_ID_VARIABLES = ['IDP_RUN_ID', 'PORT_RUN_ID'] as const

export function runIdFromEnv(env: NodeJS.ProcessEnv): string | undefined {
  for (const name of RUN_ID_VARIABLES) if (env[name]) return env[name]
  return undefined
}

const missingRunId = () =>
  usageError(
    'No run id: pass RUN_ID, or set IDP_RUN_ID.',
    'idp agent sets IDP_RUN_ID (and PORT_RUN_ID) for its handlers; in a GitHub workflow Port started, set IDP_RUN_ID: ${{ fromJson(inputs.port_context).runId }}.',
  )

/**
 * `idp run log [RUN_ID] MESSAGE…`: the first word is the run id when it looks like one (`r_…`) or
 * is the environment's; otherwise, with IDP_RUN_ID set, every word is the message.
 */
export function logArguments(words: string[], env: NodeJS.ProcessEnv): {runId: string; message: string} {
  const fromEnv = runIdFromEnv(env)
  const [first, ...rest] = words
  const explicit = first !== undefined && (first.startsWith('r_') || first === fromEnv || fromEnv === undefined)
  const runId = explicit ? first : fromEnv
  const message = (explicit ? rest : words).join(' ')
  if (!runId) throw missingRunId()
  if (!message.trim())
    throw usageError('No message: give the log line after the run id.', 'Example: idp run log r_123 "Deploying…"')
  return {message, runId}
}

export function requireRunId(given: string | undefined, env: NodeJS.ProcessEnv): string {
  const runId = given ?? runIdFromEnv(env)
  if (!runId) throw missingRunId()
  return runId
}

export interface RunUpdateFlags {
  status?: string | undefined
  link?: string[] | undefined
  summary?: string | undefined
  'external-run-id'?: string | undefined
  'status-label'?: string | undefined
}

export type RunChanges = Partial<Pick<Run, 'status' | 'statusLabel' | 'summary' | 'externalRunId'>> & {link?: string[]}

/** The PATCH body for `idp run update`: status in any case, links as given. */
export function runChanges(flags: RunUpdateFlags): RunChanges {
  const changes: RunChanges = {}
  if (flags.status !== undefined) {
    const status = flags.status.toUpperCase()
    if (status !== 'SUCCESS' && status !== 'FAILURE')
      throw usageError(`--status ${flags.status}: a run ends with SUCCESS or FAILURE.`)
    changes.status = status
  }
  if (flags.link?.length) changes.link = flags.link
  if (flags.summary !== undefined) changes.summary = flags.summary
  if (flags['external-run-id'] !== undefined) changes.externalRunId = flags['external-run-id']
  if (flags['status-label'] !== undefined) changes.statusLabel = flags['status-label']
  if (Object.keys(changes).length === 0)
    throw usageError(
      'Nothing to update: give --status, --link, --summary, --external-run-id or --status-label.',
      'Example: idp run update r_123 --status SUCCESS --summary "Deployed"',
    )
  return changes
}
