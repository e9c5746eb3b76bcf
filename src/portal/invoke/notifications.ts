import type {Action, Run} from '../../model/port.js'
import {signWebhook} from '../../verify.js'
import {identityOf} from '../auth/permissions.js'
import type {Credential} from '../store/store.js'

export interface NotifierOptions {
  /** The organisation's client secret, which signs the notice as it signs webhooks. */
  secret: () => Promise<string>
  /** Records on the run that the notice could not be sent. */
  failed: (runId: string, message: string) => Promise<void>
  attempts?: number
  retryBaseMs?: number
}

/**
 * Port's approval notification (`approvalNotification: {type: "webhook", url, format}`): a signed
 * POST when a run starts waiting for approval, as JSON or as a Slack message. Best effort: a few
 * attempts, then a line in the run's logs; the run itself waits for approval either way.
 */
export class ApprovalNotifier {
  private readonly sending = new Set<Promise<void>>()

  constructor(private readonly options: NotifierOptions) {}

  /** `approvers` is only worked out when the action asks for a notice. */
  notify(run: Run, action: Action, approvers: () => Promise<Credential[]>): void {
    const notice = action.approvalNotification
    if (notice?.type !== 'webhook' || !notice.url) return
    const {format, url} = notice
    const sending = (async () => {
      const message = format === 'slack' ? slackMessage(run, action) : jsonNotice(run, action, await approvers())
      await this.send(url, JSON.stringify(message), run.id)
    })()
      // Best effort: a notice that cannot even be recorded as failed (the portal is stopping) is dropped.
      .catch(() => undefined)
      .finally(() => this.sending.delete(sending))
    this.sending.add(sending)
  }

  /** Waits for notices in flight (the portal is stopping). */
  async stop(): Promise<void> {
    await Promise.allSettled([...this.sending])
  }

  private async send(url: string, text: string, runId: string): Promise<void> {
    const attempts = this.options.attempts ?? 3
    let reason = ''
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const headers = {
          'content-type': 'application/json',
          'user-agent': 'idp-portal',
          ...signWebhook(text, await this.options.secret()),
        }
        const response = await fetch(url, {body: text, headers, method: 'POST', signal: AbortSignal.timeout(10_000)})
        await response.body?.cancel()
        if (response.ok) return
        reason = `HTTP ${response.status}`
        if (response.status < 500) break
      } catch (error) {
        reason = ((error as Error).cause as Error | undefined)?.message ?? (error as Error).message
      }
      if (attempt < attempts)
        await new Promise((resolve) => setTimeout(resolve, (this.options.retryBaseMs ?? 500) * 2 ** (attempt - 1)))
    }
    await this.options.failed(runId, `Could not send the approval notification to ${url}: ${reason}`)
  }
}

function jsonNotice(run: Run, action: Action, approvers: Credential[]) {
  return {
    action: {identifier: action.identifier, title: action.title ?? null},
    approvers: approvers.map((approver) => {
      const {email, userId} = identityOf(approver)
      return {email, userId}
    }),
    requiredApproval: run.requiredApproval,
    run: {
      createdAt: run.createdAt,
      createdBy: run.createdBy,
      entity: run.entity ?? null,
      id: run.id,
      properties: run.properties,
      status: run.status,
    },
    type: 'APPROVAL_REQUESTED',
  }
}

function slackMessage(run: Run, action: Action) {
  const target = run.entity ? ` on ${run.entity.title ?? run.entity.identifier}` : ''
  return {
    text: `Run ${run.id} of "${action.title ?? action.identifier}"${target} by ${run.createdBy} needs approval: idp run approve ${run.id}`,
  }
}
