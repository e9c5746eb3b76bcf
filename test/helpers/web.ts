import type {Caller} from '../security/helpers.js'

export interface WebClient {
  url: string
  cookie: string
  get(path: string): Promise<{status: number; text: string; headers: Headers}>
  /** A form POST; `origin` defaults to the portal's own, `csrf` to the session's token. */
  post(
    path: string,
    fields: Record<string, string>,
    options?: {origin?: string | null; csrf?: string | null},
  ): Promise<{status: number; text: string; headers: Headers}>
  csrf(): Promise<string>
}

const request = async (url: string, init: RequestInit) => {
  const response = await fetch(url, {...init, redirect: 'manual'})
  return {headers: response.headers, status: response.status, text: await response.text()}
}

/** A browser session on the web view, signed in by a one-time link minted with `by`'s token. */
export async function webSession(url: string, by: Caller): Promise<WebClient> {
  const {body} = await by.call('POST', '/v1/idp/web-links')
  const signedIn = await request(url + body.path, {})
  const cookie = (signedIn.headers.get('set-cookie') ?? '').split(';')[0]!
  if (!cookie.startsWith('idp_session=') || cookie === 'idp_session=') throw new Error('no session cookie')
  return webClient(url, cookie)
}

export function webClient(url: string, cookie: string): WebClient {
  const client: WebClient = {
    cookie,
    async csrf() {
      const page = await client.get('/catalog')
      return /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1] ?? ''
    },
    get: (path) => request(url + path, {headers: {cookie}}),
    async post(path, fields, options = {}) {
      const origin = options.origin === undefined ? url : options.origin
      const csrf = options.csrf === undefined ? await client.csrf() : options.csrf
      return request(url + path, {
        body: new URLSearchParams({...fields, ...(csrf === null ? {} : {_csrf: csrf})}).toString(),
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          cookie,
          ...(origin === null ? {} : {origin}),
        },
        method: 'POST',
      })
    },
    url,
  }
  return client
}
