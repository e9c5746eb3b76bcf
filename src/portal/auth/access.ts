import {OWNERSHIP_BLUEPRINT, type Run} from '../../model/port.js'
import {PortalError} from '../http/errors.js'
import type {Credential, Store} from '../store/store.js'

/**
 * The portal's trust model, enforced here and nowhere else.
 *
 * - admin: everything.
 * - member: reads the catalog, writes entities (not the ownership records of `idp catalog sync`),
 *   runs the actions it is permitted to run, approves where an action names it, reads runs it may
 *   see (its own; everyone's unless an action sets `allowAnyoneToViewRuns: false`), and reports
 *   on runs it started.
 * - agent (a credential with the agent role): a member that may also drive the agent queue
 *   (claim, ack, release), report on any run and mint run tokens for the runs it handles.
 * - run (the token a handler gets): reports on its own run (status, logs, response, entity
 *   writes tied to it with `run_id`) and nothing else.
 * - a self-call (a run's backend calling the portal's API, e.g. the TTL clean-up's DELETE): admin,
 *   the organisation's rights as on Port, with its changes credited to whoever started the run.
 * - anonymous: the token route only.
 */
export type Principal =
  | {kind: 'anonymous'}
  | {kind: 'admin' | 'member' | 'agent'; credential: Credential; onBehalfOf?: OnBehalfOf}
  | {kind: 'run'; credential: Credential; runId: string}

/** A self-call's run and who started it (a credential's id, or an automation's actor). */
export interface OnBehalfOf {
  runId: string
  actor: string
}

/**
 * Who may call a route, declared beside it:
 * - `public`: anyone (the token route, health checks);
 * - `member`: any credential (member, agent, admin), never a run token;
 * - `run`: as `member`, and a run token for the run the route names (`:run`, or `run_id` in the query);
 * - `agent`: admin and agent credentials;
 * - `admin`: admin credentials only.
 */
export type Access = 'public' | 'member' | 'run' | 'agent' | 'admin'

const ALLOWED: Record<Access, Principal['kind'][]> = {
  admin: ['admin'],
  agent: ['admin', 'agent'],
  member: ['admin', 'agent', 'member'],
  public: ['anonymous', 'admin', 'agent', 'member', 'run'],
  run: ['admin', 'agent', 'member', 'run'],
}

const WHO: Record<Access, string> = {
  admin: 'admin credentials',
  agent: 'admin or agent credentials',
  member: 'credentials (not a run’s token)',
  public: 'anyone',
  run: 'credentials, or the token of the run it names',
}

/** Throws 403 unless the principal may call a route declared with `access`. */
export function authorize(
  access: Access,
  principal: Principal,
  route: {method: string; path: string; runId?: string | null},
) {
  if (principal.kind === 'run' && access === 'run' && route.runId !== principal.runId) {
    throw forbidden(`This token was issued for run ${principal.runId}; it may only report on that run`)
  }
  if (!ALLOWED[access].includes(principal.kind)) {
    throw forbidden(`Only ${WHO[access]} may ${route.method} ${route.path}; this is ${describe(principal)}`)
  }
}

function describe(principal: Principal): string {
  switch (principal.kind) {
    case 'anonymous':
      return 'an anonymous request'
    case 'run':
      return `the token of run ${principal.runId}`
    default:
      return `${principal.kind === 'admin' ? 'an' : 'a'} ${principal.kind} credential`
  }
}

export const forbidden = (message: string) => new PortalError(403, 'forbidden', message)

/** Admins and agents act on any run; members on the runs they started; a run token on its own. */
export function mayReport(principal: Principal, run: Run): boolean {
  switch (principal.kind) {
    case 'admin':
    case 'agent':
      return true
    case 'member':
      return run.createdBy === principal.credential.clientId
    case 'run':
      return run.id === principal.runId
    default:
      return false
  }
}

/** Entities only admins may write or delete: catalog ownership records, which drive prune's deletes. */
export function mayWriteEntities(principal: Principal, blueprint: string): void {
  if (blueprint === OWNERSHIP_BLUEPRINT && principal.kind !== 'admin') {
    throw forbidden(`Only admin credentials may change "${OWNERSHIP_BLUEPRINT}" entities (catalog ownership records)`)
  }
}

/**
 * An upsert-entity run writes with the portal's own rights, so ownership records stay out of a
 * member's reach through it: only admins' runs and automations (an admin's, like the actions
 * admins run) may write them.
 */
export async function runMayWriteEntities(
  store: Pick<Store, 'getCredential'>,
  run: Run,
  blueprint: string,
): Promise<void> {
  if (blueprint !== OWNERSHIP_BLUEPRINT || run.source === 'AUTOMATION') return
  if ((await store.getCredential(run.createdBy))?.role === 'admin') return
  throw forbidden(`Only admins' runs may write "${OWNERSHIP_BLUEPRINT}" entities`)
}
