import type {Run} from '../../../model/port.js'
import {jsonOrText} from '../../../shared/json.js'
import {signWebhook} from '../../../verify.js'
import type {Dispatch} from '../../store/store.js'
import {encodeSelfCallPart, selfCallProblem} from '../self-call.js'
import {renderTemplate} from '../templates.js'
import {queueForAgent} from './agent-queue.js'
import type {BackendKit, InvocationMethod, Render} from './backend.js'

const PORT_API_HOSTS = new Set(['api.port.io', 'api.getport.io', 'api.us.port.io', 'api.us.getport.io'])

/** WEBHOOK: sent and answered now, retried while the receiver is down; `agent: true` goes to the queue. */
export async function deliverWebhook(
  kit: BackendKit,
  dispatch: Dispatch,
  run: Run,
  method: InvocationMethod,
  render: Render,
  context: unknown,
) {
  const verb = String((await render(method.method ?? 'POST')) ?? 'POST').toUpperCase()
  const hasBody = method.body !== undefined || !['GET', 'DELETE'].includes(verb)
  const payload = {
    agent: Boolean(await render(method.agent ?? false)),
    body: hasBody ? await render(method.body ?? context) : undefined,
    headers: ((await render(method.headers ?? {})) ?? {}) as Record<string, unknown>,
    method: verb,
    synchronized: Boolean(await render(method.synchronized ?? false)),
    type: 'WEBHOOK',
    url: String(await render(method.url)),
  }
  if (payload.agent) return queueForAgent(kit, dispatch, run, payload)
  const self = isSelfCall(kit, payload.url)
  if (self) {
    payload.url = String(await renderTemplate(method.url, context, kit.jq, {encodePart: encodeSelfCallPart}))
    const problem = selfCallProblem(payload.url)
    if (problem) return kit.fail(dispatch, `Refused to call the portal's API at ${payload.url}: ${problem}`)
  }
  if (dispatch.attempts === 0)
    await kit.write(() => kit.runs.record(run.id, {payload}, kit.clock(), `Sending ${verb} ${payload.url}`))

  const secret = (await kit.store.adminCredential())?.clientSecret ?? ''
  const text = payload.body === undefined ? undefined : JSON.stringify(payload.body)
  const headers: Record<string, string> = {
    ...Object.fromEntries(
      Object.entries(payload.headers)
        .filter(([, value]) => value !== null && value !== undefined)
        .map(([key, value]) => [key, String(value)]),
    ),
    ...(text === undefined ? {} : {'content-type': 'application/json'}),
    ...signWebhook(text ?? '', secret),
    'user-agent': 'idp-portal',
  }
  // Port authenticates calls to its own API itself; so does the embedded portal.
  let target = payload.url
  if (self) {
    const url = new URL(payload.url)
    target = kit.baseUrl() + url.pathname + url.search
    headers.authorization = `Bearer ${await kit.selfCallToken(run)}`
  }

  let status: number
  let answer: unknown
  try {
    const response = await fetch(target, {body: text, headers, method: verb, signal: kit.signal()})
    status = response.status
    const raw = await response.text()
    answer = jsonOrText(raw)
  } catch (error) {
    const reason =
      (error as Error).name === 'TimeoutError'
        ? `${payload.url} did not answer within ${(kit.requestTimeoutMs ?? 30_000) / 1000}s`
        : `could not reach ${payload.url}: ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}`
    return kit.retry(dispatch, run, reason)
  }
  if (status >= 500) return kit.retry(dispatch, run, `${payload.url} answered HTTP ${status}`)
  const ok = status >= 200 && status < 300
  if (payload.synchronized || !ok) {
    await kit.write(async () => {
      await kit.runs.finish(
        run.id,
        {
          log: `The webhook answered HTTP ${status}`,
          response: answer,
          status: ok ? 'SUCCESS' : 'FAILURE',
          ...(ok ? {} : {summary: `The webhook answered HTTP ${status}`}),
        },
        kit.clock(),
      )
      await kit.store.putDispatch({...dispatch, state: 'done'})
    })
    return
  }
  await kit.write(async () => {
    await kit.runs.record(run.id, {}, kit.clock(), `Delivered: HTTP ${status}; waiting for the backend to report`)
    await kit.store.putDispatch({...dispatch, state: 'done'})
  })
}

/** A call to Port's API or to this portal's own: sent with the organisation's rights. */
function isSelfCall(kit: BackendKit, text: string): boolean {
  const url = safeUrl(text)
  return Boolean(url && (PORT_API_HOSTS.has(url.hostname) || url.origin === new URL(kit.baseUrl()).origin))
}

function safeUrl(text: string): URL | undefined {
  try {
    return new URL(text)
  } catch {
    return undefined
  }
}
