import {createHmac, timingSafeEqual} from 'node:crypto'

/**
 * Verifying the webhooks the embedded portal (and Port) sends. Each request carries
 * `X-Port-Timestamp` (Unix seconds) and `X-Port-Signature` (`v1,` + base64 HMAC-SHA256 of
 * `<timestamp>.<body>`, keyed with a client secret). Import it in a backend:
 *
 *   import {verifyWebhook} from 'idp/verify'
 *   const check = verifyWebhook({body: rawBody, headers: req.headers, secret: process.env.PORT_CLIENT_SECRET})
 *   if (!check.ok) return reply(401, check.reason)
 *
 * Pass the raw bytes as received, before parsing the JSON. Two senders sign two ways, and both
 * are accepted:
 * - the embedded portal and Port's direct webhooks sign the exact bytes they send, with the
 *   organisation's client secret;
 * - Port's execution agent signs the body serialised compactly but sends it re-serialised with
 *   spaces after `,` and `:` (Python's `requests`), with the agent's own client secret. Removing
 *   the whitespace between JSON tokens recovers the signed text exactly (strings, escapes and
 *   number spellings are untouched), so no parse-and-stringify round trip is involved.
 */
export function signWebhook(body: string, secret: string, timestamp = Math.floor(Date.now() / 1000)) {
  const signature = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('base64')
  return {'X-Port-Signature': `v1,${signature}`, 'X-Port-Timestamp': String(timestamp)}
}

export interface VerifyOptions {
  body: string | Buffer
  headers: Record<string, string | string[] | undefined>
  secret: string
  /** How old a timestamp may be, in seconds, before the request counts as a replay. */
  toleranceSeconds?: number
  now?: number
}

export function verifyWebhook(options: VerifyOptions): {ok: true} | {ok: false; reason: string} {
  const header = (name: string) => {
    const found = Object.entries(options.headers).find(([key]) => key.toLowerCase() === name)?.[1]
    return Array.isArray(found) ? found[0] : found
  }
  const timestamp = header('x-port-timestamp')
  const signature = header('x-port-signature')
  if (!timestamp || !signature) return {ok: false, reason: 'missing X-Port-Timestamp or X-Port-Signature'}
  const age = Math.abs((options.now ?? Date.now()) / 1000 - Number(timestamp))
  if (!Number.isFinite(age) || age > (options.toleranceSeconds ?? 300))
    return {ok: false, reason: 'stale or invalid timestamp'}
  const body = typeof options.body === 'string' ? options.body : options.body.toString('utf8')
  const given = Buffer.from(signature)
  const matches = (text: string) => {
    const expected = Buffer.from(signWebhook(text, options.secret, Number(timestamp))['X-Port-Signature'])
    return expected.length === given.length && timingSafeEqual(expected, given)
  }
  if (matches(body)) return {ok: true}
  const compact = compactJson(body)
  if (compact !== body && matches(compact)) return {ok: true}
  return {ok: false, reason: 'signature does not match'}
}

/** `text` without the whitespace between JSON tokens; everything inside strings is kept as is. */
export function compactJson(text: string): string {
  let out = ''
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const char = text[i]
    if (inString) {
      out += char
      if (char === '\\') out += text[++i] ?? ''
      else if (char === '"') inString = false
    } else if (char === '"') {
      out += char
      inString = true
    } else if (char !== ' ' && char !== '\n' && char !== '\r' && char !== '\t') {
      out += char
    }
  }
  return out
}
