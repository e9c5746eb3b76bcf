import type {Dispatcher, Pool} from 'undici'

import {jsonOrText} from '../shared/json.js'
import {loadPool, type PoolRequest} from './undici-pool.js'
import {RatePacer, resetAt} from './rate-pacer.js'
import {redact} from './redact.js'

export type QueryValue = string | number | boolean | string[] | undefined
export interface HttpRequest {
  method: Dispatcher.HttpMethod
  /** Path under the API base, e.g. `/v1/blueprints`. */
  path: string
  query?: Record<string, QueryValue> | undefined
  body?: unknown
  headers?: Record<string, string>
  /**
   * Safe to send again after the connection dropped mid-request. 429 and 503 are always retried
   * (the server did not act); 502, 504 and resets only when this is true.
   */
  idempotent?: boolean
}

export interface HttpResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: unknown
}

export interface TransportOptions {
  baseUrl: string
  userAgent: string
  /** Retries after the first attempt. */
  retries?: number
  retryBaseMs?: number
  /** Upper bound for one wait, including a server's Retry-After. */
  retryMaxMs?: number
  timeoutMs?: number
  connections?: number
  trace?: ((line: string) => void) | undefined
  sleep?: (ms: number) => Promise<void>
  random?: () => number
  /** Told when requests wait for the API's rate-limit window, and for how long (ms). */
  onRateWait?: ((ms: number) => void) | undefined
}

const RETRY_ALWAYS = new Set([429, 503])
const RETRY_IF_IDEMPOTENT = new Set([502, 504])
const RETRYABLE_NETWORK = new Set([
  'ECONNRESET',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'ETIMEDOUT',
])

/** A connection-level failure that survived the retries. */
export class NetworkError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

/**
 * One keep-alive undici Pool per API origin. Bounded retries with full-jitter exponential backoff,
 * honouring Retry-After; timeouts on headers and body; an optional redacted trace.
 */
export class HttpTransport {
  private readonly pool: Pool
  private readonly request: PoolRequest
  private readonly basePath: string
  readonly origin: string
  private readonly options: Required<Omit<TransportOptions, 'trace' | 'onRateWait'>> & Pick<TransportOptions, 'trace'>
  private readonly pacer: RatePacer

  private constructor(parts: {
    pool: Pool
    request: PoolRequest
    basePath: string
    origin: string
    options: HttpTransport['options']
    pacer: RatePacer
  }) {
    this.pool = parts.pool
    this.request = parts.request
    this.basePath = parts.basePath
    this.origin = parts.origin
    this.options = parts.options
    this.pacer = parts.pacer
  }

  static async create(options: TransportOptions): Promise<HttpTransport> {
    const {Pool, request} = await loadPool()
    const url = new URL(options.baseUrl)
    const timeoutMs = options.timeoutMs ?? 30_000
    const pool = new Pool(url.origin, {
      bodyTimeout: timeoutMs,
      connections: options.connections ?? 8,
      headersTimeout: timeoutMs,
      keepAliveTimeout: 10_000,
    })
    const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)))
    const pacer = new RatePacer({
      onWait(ms) {
        options.trace?.(`  rate limit: waiting ${Math.round(ms)}ms for the next window`)
        options.onRateWait?.(ms)
      },
      sleep,
    })
    return new HttpTransport({
      basePath: url.pathname.replace(/\/+$/, ''),
      options: {
        connections: options.connections ?? 8,
        random: options.random ?? Math.random,
        retries: options.retries ?? 4,
        retryBaseMs: options.retryBaseMs ?? 250,
        retryMaxMs: options.retryMaxMs ?? 30_000,
        sleep,
        timeoutMs,
        baseUrl: options.baseUrl,
        trace: options.trace,
        userAgent: options.userAgent,
      },
      origin: url.origin,
      pacer,
      pool,
      request,
    })
  }

  async send(request: HttpRequest): Promise<HttpResponse> {
    const idempotent = request.idempotent ?? ['DELETE', 'GET', 'HEAD', 'PUT'].includes(request.method)
    const path = this.basePath + request.path + queryString(request.query)
    const payload = request.body === undefined ? undefined : JSON.stringify(request.body)
    const headers: Record<string, string> = {
      accept: 'application/json',
      'user-agent': this.options.userAgent,
      ...(payload === undefined ? {} : {'content-type': 'application/json'}),
      ...request.headers,
    }

    for (let attempt = 0; ; attempt++) {
      const started = performance.now()
      this.trace(() => `→ ${request.method} ${this.origin}${path}${payload ? ' ' + traceBody(payload) : ''}`)
      let response: HttpResponse
      await this.pacer.acquire()
      let released = false
      try {
        const answer = await this.request(this.pool, {body: payload, headers, method: request.method, path})
        this.pacer.release(answer.headers)
        released = true
        const text = await answer.body.text()
        response = {body: jsonOrText(text), headers: answer.headers, status: answer.statusCode}
        this.trace(() => `← ${response.status} ${Math.round(performance.now() - started)}ms ${traceBody(text)}`)
      } catch (error) {
        if (!released) this.pacer.release({})
        const code = (error as {code?: string}).code ?? 'UNKNOWN'
        this.trace(() => `← ${code} after ${Math.round(performance.now() - started)}ms`)
        if (idempotent && RETRYABLE_NETWORK.has(code) && attempt < this.options.retries) {
          await this.options.sleep(this.backoff(attempt))
          continue
        }
        throw new NetworkError(code, (error as Error).message)
      }

      const retryable = RETRY_ALWAYS.has(response.status) || (idempotent && RETRY_IF_IDEMPOTENT.has(response.status))
      if (!retryable || attempt >= this.options.retries) return response
      const reset = resetAt(response.headers, Date.now())
      const wait =
        retryAfterMs(response.headers['retry-after']) ??
        (reset === undefined ? this.backoff(attempt) : Math.max(0, reset - Date.now()))
      this.trace(() => `  retrying in ${Math.round(wait)}ms (attempt ${attempt + 2} of ${this.options.retries + 1})`)
      await this.options.sleep(Math.min(wait, this.options.retryMaxMs))
    }
  }

  async close(): Promise<void> {
    await this.pool.close()
  }

  private backoff(attempt: number): number {
    const ceiling = Math.min(this.options.retryMaxMs, this.options.retryBaseMs * 2 ** attempt)
    return ceiling / 2 + (this.options.random() * ceiling) / 2
  }

  private trace(line: () => string): void {
    if (this.options.trace) this.options.trace(line())
  }
}

function queryString(query: HttpRequest['query']): string {
  if (!query) return ''
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue
    for (const item of Array.isArray(value) ? value : [value]) params.append(key, String(item))
  }
  const text = params.toString()
  return text ? `?${text}` : ''
}

/** Seconds, or an HTTP date. */
export function retryAfterMs(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const value = Array.isArray(header) ? header[0] : header
  if (!value) return undefined
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Number(value) * 1000
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

function traceBody(text: string): string {
  let shown = text
  try {
    shown = JSON.stringify(redact(JSON.parse(text)))
  } catch {
    // not JSON: shown as is
  }
  return shown.length > 2000 ? `${shown.slice(0, 2000)}… (${shown.length} chars)` : shown
}
