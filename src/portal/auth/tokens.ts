import {createHmac, randomBytes, timingSafeEqual} from 'node:crypto'

export interface TokenClaims {
  clientId: string
  /** Epoch milliseconds. */
  expiresAt: number
  /** A handler's token: it reports on this run only (auth/access.ts). */
  runId?: string | undefined
  /**
   * A self-call's token (a run's backend calling the portal's API): the organisation's rights, with
   * every change credited to this actor (whoever started the run `runId`) and tied to that run.
   */
  actingFor?: string | undefined
}

/** How many checked tokens are remembered (all are forgotten at once when it is reached). */
const VERIFIED_TOKENS = 4096

/**
 * Access tokens signed with the portal's key (HMAC-SHA256), not stored: issuing one is no write,
 * so logging in never waits behind a write transaction, and checking one reads nothing but the
 * credential it names — which is why revoking a credential ends its tokens at once.
 * Asking again while a token has more than a minute left returns the same token, as Port does.
 */
export class TokenIssuer {
  private readonly live = new Map<string, TokenClaims & {token: string}>()
  /** Tokens whose signature has been checked: each is checked once, not on every request. */
  private readonly verified = new Map<string, TokenClaims>()

  constructor(private readonly key: Buffer) {}

  issue(claims: TokenClaims, now: number): {token: string; expiresAt: number} {
    if (!claims.runId) {
      const cached = this.live.get(claims.clientId)
      if (cached && cached.expiresAt > now + 60_000) return cached
    }
    const payload = Buffer.from(
      JSON.stringify({
        c: claims.clientId,
        e: claims.expiresAt,
        n: randomBytes(6).toString('base64url'),
        r: claims.runId,
        ...(claims.actingFor === undefined ? {} : {a: claims.actingFor}),
      }),
    ).toString('base64url')
    const token = `idp_${payload}.${this.sign(payload)}`
    if (!claims.runId) this.live.set(claims.clientId, {...claims, token})
    return {expiresAt: claims.expiresAt, token}
  }

  /** The claims of a token this portal signed and that has not expired; undefined otherwise. */
  verify(token: string, now: number): TokenClaims | undefined {
    let claims = this.verified.get(token)
    if (!claims) {
      claims = this.check(token)
      if (!claims) return undefined
      if (this.verified.size >= VERIFIED_TOKENS) this.verified.clear()
      this.verified.set(token, claims)
    }
    return claims.expiresAt > now ? claims : undefined
  }

  /** A token's claims if this portal signed it. */
  private check(token: string): TokenClaims | undefined {
    const match = /^idp_([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(token)
    if (!match) return undefined
    const [, payload, signature] = match as unknown as [string, string, string]
    const expected = Buffer.from(this.sign(payload))
    const given = Buffer.from(signature)
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined
    try {
      const {a, c, e, r} = JSON.parse(Buffer.from(payload, 'base64url').toString()) as {
        a?: string
        c: string
        e: number
        r?: string
      }
      if (typeof c !== 'string' || typeof e !== 'number') return undefined
      return {
        actingFor: typeof a === 'string' ? a : undefined,
        clientId: c,
        expiresAt: e,
        runId: typeof r === 'string' ? r : undefined,
      }
    } catch {
      return undefined
    }
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.key).update(payload).digest('base64url')
  }
}
