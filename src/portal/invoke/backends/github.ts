import type {Run} from '../../../model/port.js'
import {textOf} from '../../../shared/json.js'
import {PortalNotice} from '../../notice.js'
import type {Dispatch} from '../../store/store.js'
import type {BackendKit, InvocationMethod, Render} from './backend.js'

/** Failed checks in a row after which a followed GitHub workflow run is given up on. */
const FOLLOW_FAILURES = 10
/** How long after a dispatch the workflow run may take to appear. */
const FOLLOW_FIND_MS = 10 * 60_000

/** Context of a GitHub workflow being followed until it completes. */
export interface GitHubFollow {
  github: {org: string; repo: string; workflow: string; since: string}
}

/** GITHUB: a workflow dispatch, then (reportWorkflowStatus) the workflow run followed until it completes. */
export async function dispatchWorkflow(
  kit: BackendKit,
  dispatch: Dispatch,
  run: Run,
  method: InvocationMethod,
  render: Render,
) {
  const {apiUrl, token} = kit.github
  if (!token) return kit.fail(dispatch, 'No GitHub token: start the portal with IDP_PORTAL_GITHUB_TOKEN set')
  const org = String(await render(method.org))
  const repo = String(await render(method.repo))
  const workflow = String(await render(method.workflow))
  const {ref = 'main', ...inputs} = ((await render(method.workflowInputs ?? {})) ?? {}) as Record<string, unknown>
  const since = kit.clock().toISOString()
  const path = `/repos/${enc(org)}/${enc(repo)}/actions/workflows/${enc(workflow)}/dispatches`
  let status: number
  try {
    const response = await fetch(apiUrl + path, {
      body: JSON.stringify({inputs: stringValues(inputs), ref}),
      headers: githubHeaders(token),
      method: 'POST',
      signal: kit.signal(),
    })
    status = response.status
    if (status >= 400 && status < 500) {
      return kit.fail(
        dispatch,
        `GitHub refused the workflow dispatch: HTTP ${status} ${(await response.text()).slice(0, 300)}`,
      )
    }
  } catch (error) {
    return kit.retry(dispatch, run, `could not reach GitHub: ${(error as Error).message}`)
  }
  if (status >= 500) return kit.retry(dispatch, run, `GitHub answered HTTP ${status}`)
  const report = (await render(method.reportWorkflowStatus ?? true)) !== false
  await kit.write(async () => {
    await kit.runs.record(
      run.id,
      {payload: {inputs, org, ref, repo, type: 'GITHUB', workflow}},
      kit.clock(),
      `Dispatched workflow ${workflow} in ${org}/${repo} on ${ref}`,
    )
    await kit.store.putDispatch(
      report
        ? {
            ...dispatch,
            attempts: 0,
            availableAt: kit.clock().getTime() + (kit.github.pollMs ?? 5000),
            context: {github: {org, repo, since, workflow}},
          }
        : {...dispatch, state: 'done'},
    )
  })
}

/**
 * reportWorkflowStatus: the newest dispatched run of the workflow since the dispatch, until it
 * completes. A check that fails (GitHub unreachable or answering an error) is logged on the run
 * and in the portal's log, and the run fails after FOLLOW_FAILURES of them in a row or when no
 * workflow run has appeared FOLLOW_FIND_MS after the dispatch.
 */
export async function followWorkflow(kit: BackendKit, dispatch: Dispatch, run: Run) {
  const {org, repo, since, workflow} = (dispatch.context as GitHubFollow).github
  const {apiUrl, token} = kit.github
  const path = `/repos/${enc(org)}/${enc(repo)}/actions/workflows/${enc(workflow)}/runs?event=workflow_dispatch&created=${enc('>=' + since.slice(0, 19) + 'Z')}`
  const later = (attempts: number, log?: string) =>
    kit.write(async () => {
      if (log) await kit.runs.record(run.id, {}, kit.clock(), log)
      await kit.store.putDispatch({
        ...dispatch,
        attempts,
        availableAt: kit.clock().getTime() + (kit.github.pollMs ?? 5000),
      })
    })
  const failed = async (reason: string) => {
    const attempts = dispatch.attempts + 1
    kit.onError(new PortalNotice(`run ${run.id}: following ${org}/${repo} ${workflow}: ${reason}`))
    if (attempts >= FOLLOW_FAILURES)
      return kit.fail(dispatch, `Gave up following workflow ${workflow} after ${attempts} failed checks: ${reason}`)
    return later(attempts, `Checking workflow ${workflow} failed (${reason}); check ${attempts} of ${FOLLOW_FAILURES}`)
  }
  let runs: {status: string; conclusion: string | null; html_url: string; created_at: string}[]
  try {
    const response = await fetch(apiUrl + path, {headers: githubHeaders(token ?? ''), signal: kit.signal()})
    if (!response.ok) return await failed(`GitHub answered HTTP ${response.status}`)
    runs = ((await response.json()) as {workflow_runs?: typeof runs}).workflow_runs ?? []
  } catch (error) {
    if (kit.isStopped()) return // cut short by the portal stopping: the next start follows it again
    return await failed(`could not reach GitHub: ${(error as Error).message}`)
  }
  const latest = runs
    .filter((item) => item.created_at >= since.slice(0, 19))
    .sort((a, b) => b.created_at.localeCompare(a.created_at))[0]
  if (!latest) {
    if (kit.clock().getTime() - Date.parse(since) < FOLLOW_FIND_MS) return later(0)
    return kit.fail(dispatch, `No run of workflow ${workflow} appeared in ${org}/${repo} after the dispatch`)
  }
  if (latest.status !== 'completed') return later(0)
  const ok = latest.conclusion === 'success'
  await kit.write(async () => {
    await kit.runs.finish(
      run.id,
      {
        link: [latest.html_url],
        log: `Workflow ${latest.conclusion}: ${latest.html_url}`,
        status: ok ? 'SUCCESS' : 'FAILURE',
        ...(ok ? {} : {summary: `The workflow ended ${latest.conclusion}`}),
      },
      kit.clock(),
    )
    await kit.store.putDispatch({...dispatch, state: 'done'})
  })
}

const enc = encodeURIComponent
const githubHeaders = (token: string) => ({
  accept: 'application/vnd.github+json',
  authorization: `Bearer ${token}`,
  'user-agent': 'idp-portal',
  'x-github-api-version': '2022-11-28',
})
/** workflow_dispatch inputs are strings; objects go as JSON. */
const stringValues = (inputs: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(inputs).map(([key, value]) => [key, textOf(value)]))
