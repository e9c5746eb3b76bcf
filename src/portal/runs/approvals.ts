import type {Run} from '../../model/port.js'
import {identityOf, type Permissions} from '../auth/permissions.js'
import {notFound, PortalError} from '../http/errors.js'
import type {Credential, Store} from '../store/store.js'
import type {Approvers, RunAudit, Runs} from './runs.js'

const isAll = (required: Run['requiredApproval']) =>
  typeof required === 'object' && required !== null && required.type === 'ALL'

/** Approvals: who may decide on a run that waits for one, and the decisions. */
export class RunApprovals {
  constructor(
    private readonly store: Store,
    private readonly permissions: Permissions,
    private readonly runs: Runs,
  ) {}

  /** Who may decide on a run (jq policies included, and why they failed): worked out before the write. */
  async approvers(id: string, now: Date): Promise<Approvers> {
    return this.approversOf(await this.runs.get(id), now)
  }

  /** Records a decision; who may decide comes from approvers(), worked out before the write. */
  async approve(
    id: string,
    body: {status: 'APPROVE' | 'DECLINE'; description?: string},
    audit: RunAudit,
    {action, approvers, problems}: Approvers,
  ): Promise<Run> {
    const run = await this.runs.get(id)
    if (run.status !== 'WAITING_FOR_APPROVAL') {
      throw new PortalError(422, 'invalid_request', `Run "${id}" is ${run.status}, not WAITING_FOR_APPROVAL`)
    }
    const caller = audit.caller.clientId
    if (!approvers.some((approver) => approver.clientId === caller)) {
      throw new PortalError(
        403,
        'forbidden',
        `${identityOf(audit.caller).email} may not approve runs of action "${action.identifier}"${problems.length > 0 ? `; ${problems.join('; ')}` : ''}`,
      )
    }
    const approved = body.status === 'APPROVE'
    const state = approved ? 'APPROVED' : 'DECLINED'
    const at = audit.now.toISOString()
    await this.store.putApproval({at, clientId: caller, description: body.description, runId: id, state})
    // ANY: the first decision settles the run. ALL: every approver must approve; one decline declines.
    if (approved && isAll(run.requiredApproval)) {
      const decided = new Set(
        (await this.store.runApprovals(id)).filter((a) => a.state === 'APPROVED').map((a) => a.clientId),
      )
      if (approvers.some((approver) => !decided.has(approver.clientId))) {
        return this.runs.save({...run, statusLabel: `Approved by ${decided.size} of ${approvers.length}`}, audit)
      }
    }
    if (approved) await this.runs.schedule(id, audit.now)
    return this.runs.save(
      {
        ...run,
        approval: {state, userId: caller, ...(body.description ? {description: body.description} : {})},
        status: approved ? 'IN_PROGRESS' : 'DECLINED',
        statusLabel: null,
      },
      audit,
    )
  }

  /** Who decided on a run, and (with `pending`) who still may: Port's approvers route. */
  async approvalStates(id: string, pending: boolean, now: Date) {
    const run = await this.runs.get(id)
    const decisions = (await this.store.runApprovals(id)).map((approval) => ({
      state: approval.state,
      userId: approval.clientId,
      ...(approval.description ? {description: approval.description} : {}),
    }))
    if (!pending || run.status !== 'WAITING_FOR_APPROVAL') return decisions
    const decided = new Set(decisions.map((decision) => decision.userId))
    const {approvers} = await this.approversOf(run, now)
    return [
      ...decisions,
      ...approvers
        .filter((approver) => !decided.has(approver.clientId))
        .map((approver) => ({state: 'PENDING', userId: approver.clientId})),
    ]
  }

  /** Whether this credential is among the run's approvers (while it waits for approval). */
  async mayApprove(run: Run, caller: Credential, now: Date): Promise<boolean> {
    if (run.status !== 'WAITING_FOR_APPROVAL') return false
    // The run of an action deleted since has no approvers; a failing policy is told where one decides.
    const action = await this.store.getAction(run.action.identifier)
    if (!action) return false
    const {value} = await this.permissions.approvers(await this.permissions.runSubject(run, action, now))
    return value.some((approver) => approver.clientId === caller.clientId)
  }

  private async approversOf(run: Run, now: Date): Promise<Approvers> {
    const action = await this.store.getAction(run.action.identifier)
    if (!action) throw notFound(`Action "${run.action.identifier}" of run "${run.id}" no longer exists`)
    const {problems, value} = await this.permissions.approvers(await this.permissions.runSubject(run, action, now))
    this.runs.tell(action, problems)
    return {action, approvers: value, problems}
  }
}
