import {authError} from '../errors.js'
import type {CachedToken} from '../config/profiles.js'
import {credentialsOrigin, type Credentials} from '../config/session.js'
import {NetworkError, type HttpTransport} from './http.js'
import {toApiError, unreachable} from './errors.js'
import {systemClock, type Clock} from '../shared/when.js'

export interface TokenCache {
  load(): CachedToken | undefined
  save(token: CachedToken): void | Promise<void>
}

/** Refresh this long before expiry so a token never runs out mid-command. */
const REFRESH_MARGIN_MS = 60_000

export interface TokenProviderOptions {
  transport: HttpTransport
  apiUrl: string
  credentials: Credentials | undefined
  /** A bearer token given as is (IDP_TOKEN, e.g. a handler's run token): sent, never exchanged. */
  accessToken?: string | undefined
  cache?: TokenCache | undefined
  /** Shown when there are no credentials at all. */
  loginHint: string
  unreachableHint: string
  clock?: Clock
}

/** Exchanges client credentials for an access token (`POST /v1/auth/access_token`) and caches it. */
export class TokenProvider {
  private current: CachedToken | undefined

  constructor(private readonly options: TokenProviderOptions) {
    this.current = options.cache?.load()
  }

  async token({force = false} = {}): Promise<string> {
    const given = this.options.accessToken
    if (given !== undefined) {
      if (!force) return given
      throw authError(
        `The portal at ${this.options.apiUrl} rejected IDP_TOKEN.`,
        "A handler's run token ends with its run; outside a handler, unset IDP_TOKEN to use client credentials.",
      )
    }
    const now = (this.options.clock ?? systemClock)().getTime()
    if (!force && this.current && this.current.expiresAt - REFRESH_MARGIN_MS > now) return this.current.accessToken
    this.current = await fetchToken(this.options)
    await this.options.cache?.save(this.current)
    return this.current.accessToken
  }
}

export async function fetchToken(options: TokenProviderOptions): Promise<CachedToken> {
  const {apiUrl, credentials} = options
  if (!credentials) {
    // Say "cannot reach" rather than "not logged in" when nothing answers there at all.
    await options.transport.send({method: 'GET', path: '/v1/auth/access_token'}).catch((error: unknown) => {
      if (error instanceof NetworkError) throw unreachable(apiUrl, error, options.unreachableHint)
      throw error
    })
    throw authError(
      `No credentials for ${apiUrl}: no profile is saved for it, and IDP_CLIENT_ID/IDP_CLIENT_SECRET are not set.`,
      options.loginHint,
    )
  }
  const request = {
    body: {clientId: credentials.clientId, clientSecret: credentials.clientSecret},
    idempotent: true,
    method: 'POST',
    path: '/v1/auth/access_token',
  } as const
  const started = (options.clock ?? systemClock)().getTime()
  let response
  try {
    response = await options.transport.send(request)
  } catch (error) {
    if (error instanceof NetworkError) throw unreachable(apiUrl, error, options.unreachableHint)
    throw error
  }
  if (response.status === 401 || response.status === 403) {
    throw authError(
      `The portal at ${apiUrl} rejected the client credentials from ${credentialsOrigin(credentials)}.`,
      credentials.source === 'input'
        ? 'Check the client id and secret (the portal shows them once, when they are made).'
        : 'Check the client id and secret, then run `idp login` again.',
    )
  }
  if (response.status >= 300) throw toApiError(request, response, apiUrl)
  const body = response.body as {accessToken: string; expiresIn: number}
  return {accessToken: body.accessToken, expiresAt: started + body.expiresIn * 1000}
}
