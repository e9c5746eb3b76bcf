import {servePortal, type ServedPortal} from './e2e.js'

/** Spawned `idp portal serve` processes on one PostgreSQL database, and calls to them. */

/** The test database's URL with a password in it (trust authentication ignores it), to look for. */
export function withPassword(url: string): {url: string; password: string} {
  const parsed = new URL(url)
  if (!parsed.password && !process.env.PGPASSWORD) parsed.password = 'pw-never-shown'
  return {password: parsed.password, url: parsed.toString()}
}

/** `idp portal serve --store postgres` on the database `url`, with any more of its environment. */
export const serve = (url: string, env: Record<string, string> = {}) =>
  servePortal({portalEnv: {IDP_PORTAL_DATABASE_URL: url, IDP_PORTAL_STORE: 'postgres', ...env}})

/** One call with a bearer token: its status, JSON body and headers. */
export const call = async (portal: ServedPortal, token: string, method: string, path: string, body?: unknown) => {
  const response = await fetch(portal.url + path, {
    body: body === undefined ? undefined : JSON.stringify(body),
    headers: {authorization: `Bearer ${token}`, 'content-type': 'application/json'},
    method,
  })
  return {body: (await response.json()) as Record<string, unknown>, headers: response.headers, status: response.status}
}

export const tokenFor = async (portal: ServedPortal, credentials: {clientId: string; clientSecret: string}) => {
  const response = await fetch(`${portal.url}/v1/auth/access_token`, {
    body: JSON.stringify({clientId: credentials.clientId, clientSecret: credentials.clientSecret}),
    headers: {'content-type': 'application/json'},
    method: 'POST',
  })
  return ((await response.json()) as {accessToken: string}).accessToken
}
