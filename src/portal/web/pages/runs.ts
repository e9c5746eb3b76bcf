import type {AuditRecord, Run, RunLog, RunStatus} from '../../../model/port.js'
import {TERMINAL_STATUSES} from '../../../model/port.js'
import {changedFields} from '../../../services/history.js'
import type {WebContext, WebRoute} from '../context.js'
import {time} from '../format.js'
import {html, path, safeUrl} from '../html.js'
import {csrfField, page} from '../layout.js'

const STATUSES: RunStatus[] = ['IN_PROGRESS', 'WAITING_FOR_APPROVAL', 'SUCCESS', 'FAILURE', 'DECLINED']
const LOG_PAGE = 50
/** Inputs that hold a time (a TTL) show as "in 5 days", the exact time on hover. */
const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d/
/** A run page shows at most this many log lines when it opens (the rest are a CLI away). */
const MAX_LOG_LINES = 2000

export const statusBadge = (status: string) =>
  html`<span class="status ${status.toLowerCase().replaceAll('_', '-')}"
    >${status.replaceAll('_', ' ').toLowerCase()}</span
  >`

async function runList(context: WebContext) {
  const params = context.url.searchParams
  const scope = params.get('scope') === 'all' ? 'all' : 'mine'
  const status = STATUSES.find((candidate) => candidate === params.get('status'))
  const {runs} = await context.api<{runs: Run[]}>('GET', '/v1/actions/runs', {
    query: {limit: '200', ...(scope === 'mine' ? {user_id: context.session!.clientId} : {})},
  })
  const shown = runs.filter((run) => (status ? run.status === status : true))
  const link = (changes: Record<string, string | undefined>) => {
    const next = new URLSearchParams({scope, ...(status ? {status} : {})})
    for (const [key, value] of Object.entries(changes)) {
      if (value === undefined) next.delete(key)
      else next.set(key, value)
    }
    return `/runs?${next.toString()}`
  }
  const tab = (label: string, href: string, current: boolean) =>
    html`<a href="${href}" ${current ? html` aria-current="true" class="on"` : ''}>${label}</a>`
  return page(
    context,
    'Runs',
    html`<nav class="tabs" aria-label="Whose runs">
        ${tab('Mine', link({scope: 'mine'}), scope === 'mine')}${tab('All I may see', link({scope: 'all'}), scope === 'all')}
      </nav>
      <nav class="tabs" aria-label="By status">
        ${tab('Any status', link({status: undefined}), !status)}${STATUSES.map((candidate) =>
          tab(candidate.replaceAll('_', ' ').toLowerCase(), link({status: candidate}), status === candidate),
        )}
      </nav>
      <table class="grid">
        <thead>
          <tr>
            <th scope="col">Run</th>
            <th scope="col">Action</th>
            <th scope="col">Status</th>
            <th scope="col">Entity</th>
            <th scope="col">Started</th>
            <th scope="col">By</th>
          </tr>
        </thead>
        <tbody>
          ${
            shown.length
              ? shown.map(
                  (run) =>
                    html`<tr>
                      <th scope="row"><a href="${path('runs', run.id)}">${run.id}</a></th>
                      <td>${run.action.title ?? run.action.identifier}</td>
                      <td>${statusBadge(run.status)}</td>
                      <td>
                        ${run.entity && run.blueprint ? html`<a href="${path('entities', run.blueprint.identifier, run.entity.identifier)}">${run.entity.title ?? run.entity.identifier}</a>` : ''}
                      </td>
                      <td>${time(run.createdAt, context.now)}</td>
                      <td><code>${run.createdBy}</code></td>
                    </tr>`,
                )
              : html`<tr>
                  <td colspan="6">No runs.</td>
                </tr>`
          }
        </tbody>
      </table>`,
    '/runs',
  )
}

async function runPage(context: WebContext) {
  const id = context.params.run!
  const {run} = await context.api<{run: Run}>('GET', path('v1', 'actions', 'runs', id))
  const logs: RunLog[] = []
  for (;;) {
    const {runLogs} = await context.api<{runLogs: RunLog[]}>('GET', path('v1', 'actions', 'runs', id, 'logs'), {
      query: {limit: String(LOG_PAGE), offset: String(logs.length)},
    })
    logs.push(...runLogs)
    if (runLogs.length < LOG_PAGE || logs.length >= MAX_LOG_LINES) break
  }
  const {approvers} = await context.api<{approvers: {state: string; userId: string; description?: string}[]}>(
    'GET',
    path('v1', 'actions', 'runs', id, 'approvers'),
    {query: {include_pending_approvers: 'true'}},
  )
  // The audit log may be closed to this viewer; the run still shows.
  const changes = await context
    .api<{audits: AuditRecord[]}>('GET', '/v1/audit-log', {query: {limit: '100', resources: 'entity', run_id: id}})
    .then(({audits}) => audits)
    .catch(() => [] as AuditRecord[])
  const mayDecide = approvers.some(
    (approver) => approver.state === 'PENDING' && approver.userId === context.session!.clientId,
  )
  const final = TERMINAL_STATUSES.includes(run.status)
  const links = (Array.isArray(run.link) ? run.link : [run.link]).filter(
    (link): link is string => typeof link === 'string',
  )

  const content = html`<dl class="props">
      <dt>Status</dt>
      <dd id="run-status" aria-live="polite">
        ${statusBadge(run.status)}${run.statusLabel ? html` · ${run.statusLabel}` : ''}
      </dd>
      <dt>Action</dt>
      <dd>${run.action.title ?? run.action.identifier}</dd>
      ${
        run.entity && run.blueprint
          ? html`<dt>Entity</dt>
              <dd>
                <a href="${path('entities', run.blueprint.identifier, run.entity.identifier)}"
                  >${run.entity.title ?? run.entity.identifier}</a
                >
              </dd>`
          : ''
      }
      <dt>Started</dt>
      <dd>${time(run.createdAt, context.now)} by <code>${run.createdBy}</code></dd>
      ${
        run.endedAt
          ? html`<dt>Ended</dt>
              <dd>${time(run.endedAt, context.now)}</dd>`
          : ''
      }
      ${links.map((link) => {
        const url = safeUrl(link)
        return html`<dt>Link</dt>
          <dd>${url ? html`<a href="${url}" rel="noopener noreferrer">${link}</a>` : link}</dd>`
      })}
      ${
        run.summary
          ? html`<dt>Summary</dt>
              <dd>${run.summary}</dd>`
          : ''
      }
    </dl>
    <section aria-labelledby="inputs-h">
      <h2 id="inputs-h">Inputs</h2>
      <dl class="props">
        ${Object.entries(run.properties ?? {}).map(
          ([name, value]) =>
            html`<dt>${name}</dt>
              <dd>
                ${typeof value !== 'string' ? JSON.stringify(value) : ISO_TIME.test(value) ? time(value, context.now) : value}
              </dd>`,
        )}
      </dl>
    </section>
    ${
      run.requiredApproval
        ? html`<section aria-labelledby="approval-h">
            <h2 id="approval-h">Approval</h2>
            <ul>
              ${approvers.map((approver) => html`<li><code>${approver.userId}</code>: ${approver.state.toLowerCase()}${approver.description ? ` — ${approver.description}` : ''}</li>`)}
            </ul>
            ${
              mayDecide
                ? html`<form method="post" action="${path('runs', id, 'approval')}" class="card narrow">
                    ${csrfField(context)}
                    <label for="description">Reason (optional)</label>
                    <input id="description" name="description" />
                    <div class="row">
                      <button type="submit" name="status" value="APPROVE">Approve</button>
                      <button type="submit" name="status" value="DECLINE" class="danger">Decline</button>
                    </div>
                  </form>`
                : ''
            }
          </section>`
        : ''
    }
    <section aria-labelledby="changes-h">
      <h2 id="changes-h">Changed entities</h2>
      ${
        changes.length
          ? html`<ul>
              ${changes.map(
                (change) =>
                  html`<li>
                    ${change.action.toLowerCase()}
                    <a href="${path('entities', change.context.blueprint ?? '', change.context.entity ?? '')}"
                      >${change.context.blueprint}/${change.context.entity}</a
                    >${
                      change.action === 'UPDATE'
                        ? html`:
                          ${changedFields(change.diff.before as never, change.diff.after as never)
                            .map(({field}) => field)
                            .join(', ')}`
                        : ''
                    }
                  </li>`,
              )}
            </ul>`
          : html`<p class="muted">None yet.</p>`
      }
    </section>
    <section aria-labelledby="logs-h">
      <h2 id="logs-h">Log</h2>
      <ol
        id="run-log"
        class="log"
        aria-live="polite"
        data-run="${id}"
        data-since="${run.updatedAt}"
        data-offset="${logs.length}"
        data-final="${final ? 'true' : 'false'}"
      >
        ${logs.map(
          (log) =>
            html`<li>
              <time datetime="${log.createdAt}">${log.createdAt.slice(11, 19)}</time> <span>${log.message}</span>
            </li>`,
        )}
      </ol>
      ${final ? '' : html`<p class="muted small" id="live-note">New lines appear here as the run reports them.</p>`}
    </section>`
  return page(context, `Run ${id}`, content, '/runs')
}

/** What changed since the page's last look, waiting up to 25 s for a change (the page's script long-polls it). */
async function live(context: WebContext) {
  const id = context.params.run!
  const since = context.url.searchParams.get('since')
  const offset = Math.max(0, Number(context.url.searchParams.get('offset')) || 0)
  const {run} = await context.api<{run: Run & {idpLogs: RunLog[]}}>('GET', path('v1', 'actions', 'runs', id), {
    query: {idp_log_offset: String(offset), idp_wait: '25', ...(since ? {idp_since: since} : {})},
  })
  return {
    final: TERMINAL_STATUSES.includes(run.status),
    logs: run.idpLogs.map((log) => ({at: log.createdAt, message: log.message})),
    status: run.status,
    statusLabel: run.statusLabel,
    updatedAt: run.updatedAt,
  }
}

/** Runs: the list, a run's page with its live log, and approving or declining. */
export function runPages(): WebRoute[] {
  return [
    {handler: async (context) => ({html: await runList(context)}), method: 'GET', pattern: '/runs', who: 'signed-in'},
    {
      handler: async (context) => ({html: await runPage(context)}),
      method: 'GET',
      pattern: '/runs/:run',
      who: 'signed-in',
    },
    {
      handler: async (context) => ({json: await live(context)}),
      method: 'GET',
      pattern: '/runs/:run/live',
      script: true,
      who: 'signed-in',
    },
    {
      handler: async (context) => {
        const id = context.params.run!
        const status = context.form.get('status') === 'DECLINE' ? 'DECLINE' : 'APPROVE'
        const description = context.form.get('description')?.trim()
        await context.api('PATCH', path('v1', 'actions', 'runs', id, 'approval'), {
          body: {status, ...(description ? {description} : {})},
        })
        return {redirect: path('runs', id)}
      },
      method: 'POST',
      pattern: '/runs/:run/approval',
      who: 'signed-in',
    },
  ]
}
