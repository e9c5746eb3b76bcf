import type {Run} from '../../../model/port.js'
import type {Dispatch} from '../../store/store.js'
import type {BackendKit, InvocationMethod, Render} from './backend.js'

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
  const since = kit.now().toISOString()
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
      kit.now(),
      `Dispatched workflow ${workflow} in ${org}/${repo} on ${ref}`,
    )
    await kit.store.putDispatch(
      report
        ? {
            ...dispatch,
            attempts: 0,
            availableAt: kit.now().getTime() + (kit.github.pollMs ?? 5000),
            context: {github: {org, repo, since, workflow}},
          }
        : {...dispatch, state: 'done'},
    )
  })
}

/** reportWorkflowStatus: the newest dispatched run of the workflow since the dispatch, until it completes. */
export async function followWorkflow(kit: BackendKit, dispatch: Dispatch, run: Run) {
  const {org, repo, since, workflow} = (dispatch.context as GitHubFollow).github
  const {apiUrl, token} = kit.github
  const path = `/repos/${enc(org)}/${enc(repo)}/actions/workflows/${enc(workflow)}/runs?event=workflow_dispatch&created=${enc('>=' + since.slice(0, 19) + 'Z')}`
  const later = () =>
    kit.store.putDispatch({
      ...dispatch,
      availableAt: kit.now().getTime() + (kit.github.pollMs ?? 5000),
    })
  try {
    const response = await fetch(apiUrl + path, {headers: githubHeaders(token ?? ''), signal: kit.signal()})
    if (!response.ok) return await kit.write(later)
    const {workflow_runs: runs = []} = (await response.json()) as {
      workflow_runs?: {status: string; conclusion: string | null; html_url: string; created_at: string}[]
    }
    const latest = runs
      .filter((item) => item.created_at >= since.slice(0, 19))
      .sort((a, b) => b.created_at.localeCompare(a.created_at))[0]
    if (!latest || latest.status !== 'completed') return await kit.write(later)
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
        kit.now(),
      )
      await kit.store.putDispatch({...dispatch, state: 'done'})
    })
  } catch {
    await kit.write(later)
  }
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
  Object.fromEntries(
    Object.entries(inputs).map(([key, value]) => [key, typeof value === 'string' ? value : JSON.stringify(value)]),
  )
