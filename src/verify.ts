import {createHmac, timingSafeEqual} from 'node:crypto'

/**
 * Verifying the webhooks the embedded portal (and Port) sends. Each request carries
 * `X-Port-Timestamp` (Unix seconds) and `X-Port-Signature` (`v1,` + base64 HMAC-SHA256 of
 * `<timestamp>.<raw body>`, keyed with the portal's client secret). Import it in a backend:
 *
 *   import {verifyWebhook} from 'idp/verify'
 *   const check = verifyWebhook({body: rawBody, headers: req.headers, secret: process.env.PORT_CLIENT_SECRET})
 *   if (!check.ok) return reply(401, check.reason)
 *
 * Verify the raw bytes as received, before parsing the JSON.
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
  const expected = Buffer.from(signWebhook(body, options.secret, Number(timestamp))['X-Port-Signature'])
  const given = Buffer.from(signature)
  if (expected.length !== given.length || !timingSafeEqual(expected, given))
    return {ok: false, reason: 'signature does not match'}
  return {ok: true}
}
