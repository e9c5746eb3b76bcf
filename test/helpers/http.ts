/** The one way tests call a portal's HTTP API directly (the CLI has its own client). */

export interface ApiAnswer {
  status: number
  body: any
}

/** A token for client credentials, as `POST /v1/auth/access_token` gives it. */
export async function accessToken(url: string, credentials: {clientId: string; clientSecret: string}): Promise<string> {
  const {status, body} = await request(url, 'POST', '/v1/auth/access_token', {body: credentials})
  if (status !== 200) throw new Error(`no access token: ${status} ${JSON.stringify(body)}`)
  return body.accessToken as string
}

/** One HTTP call; `token` is sent as a bearer token, `raw` as the body text instead of JSON. */
export async function request(
  url: string,
  method: string,
  path: string,
  options: {token?: string; body?: unknown; raw?: string} = {},
): Promise<ApiAnswer> {
  const headers: Record<string, string> = {}
  if (options.token) headers.authorization = `Bearer ${options.token}`
  if (options.body !== undefined || options.raw !== undefined) headers['content-type'] = 'application/json'
  const response = await fetch(url + path, {
    body: options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body)),
    headers,
    method,
  })
  const text = await response.text()
  return {body: text ? JSON.parse(text) : undefined, status: response.status}
}

/** Polls `check` until it gives a value (not undefined); throws after `timeoutMs`, saying `failure()`. */
export async function until<T>(
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 10_000,
  failure = () => `timed out after ${timeoutMs} ms`,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(failure())
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}
