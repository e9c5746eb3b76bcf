import {accessToken, request, until} from '../helpers/http.js'
import {startTestPortal, type TestPortal} from '../helpers/portal.js'

export interface Caller {
  token: string
  call(method: string, path: string, body?: unknown): Promise<{status: number; body: any}>
}

export interface RolesPortal extends TestPortal {
  admin: TestPortal['admin']
  asAdmin: Caller
  member: Caller & {clientId: string}
  other: Caller & {clientId: string}
  agent: Caller & {clientId: string}
  anonymous: Caller
  /** A token a caller gets for a run, as `idp agent` asks for one. */
  runToken(runId: string, by?: Caller): Promise<Caller>
  until<T>(check: () => Promise<T | undefined>, timeoutMs?: number): Promise<T>
}

export function caller(url: string, token: string): Caller {
  return {call: (method, path, body) => request(url, method, path, {body, token}), token}
}

export const login = (url: string, clientId: string, clientSecret: string): Promise<string> =>
  accessToken(url, {clientId, clientSecret})

/** The real portal with an admin, two members (one in team "payments") and an agent credential. */
export async function startRolesPortal(options: Parameters<typeof startTestPortal>[0] = {}): Promise<RolesPortal> {
  const portal = await startTestPortal(options)
  const made = async (role: 'member' | 'agent', email: string, teams: string[] = []) => {
    const {clientId, clientSecret} = await portal.core.write(() => portal.core.credentials.create({email, role, teams}))
    return {...caller(portal.url, await login(portal.url, clientId, clientSecret)), clientId}
  }
  const asAdmin = caller(portal.url, await portal.token())
  return {
    ...portal,
    agent: await made('agent', 'agent@example.com'),
    anonymous: caller(portal.url, ''),
    asAdmin,
    member: await made('member', 'dev@example.com', ['payments']),
    other: await made('member', 'other@example.com'),
    async runToken(runId, by = asAdmin) {
      const {body, status} = await by.call('POST', '/v1/idp/run-tokens', {runIds: [runId]})
      if (status !== 201 || body.tokens?.length !== 1)
        throw new Error(`no run token: ${status} ${JSON.stringify(body)}`)
      return caller(portal.url, body.tokens[0].accessToken)
    },
    until,
  }
}
