import {PortalError} from '../../http/errors.js'
import type {CallRoute, WebRoute} from '../context.js'
import {html} from '../html.js'
import {page} from '../layout.js'
import {sessionCookie, type WebSessions} from '../sessions.js'

/** Where to go after signing in: a path on this portal only, never another site. */
const nextPath = (value: string | null) => (value && /^\/(?![/\\])/.test(value) ? value : '/catalog')

const signInForm = (next: string, problem?: string) =>
  page(
    undefined,
    'Sign in',
    html`${problem ? html`<p class="error" role="alert" id="problem">${problem}</p>` : ''}
      <p>
        Run <code>idp portal open</code> in a terminal for a link that signs you in as the CLI’s credentials, or give a
        client id and secret.
      </p>
      <form class="card narrow" method="post" action="/sign-in">
        <input type="hidden" name="next" value="${next}" />
        <label for="clientId">Client id</label>
        <input id="clientId" name="clientId" autocomplete="username" required />
        <label for="clientSecret">Client secret</label>
        <input id="clientSecret" name="clientSecret" type="password" autocomplete="current-password" required />
        <button type="submit">Sign in</button>
      </form>`,
  )

/** Signing in (by one-time link or client id and secret) and out. */
export function authPages(sessions: WebSessions, api: CallRoute): WebRoute[] {
  return [
    {
      handler: async ({url}) => ({html: signInForm(nextPath(url.searchParams.get('next')))}),
      method: 'GET',
      pattern: '/sign-in',
      who: 'anyone',
    },
    {
      // The secret is checked by the API's own token route; the form never echoes it back.
      handler: async ({form, now}) => {
        const clientId = form.get('clientId') ?? ''
        const next = nextPath(form.get('next'))
        try {
          await api({kind: 'anonymous'}, 'POST', '/v1/auth/access_token', {
            body: {clientId, clientSecret: form.get('clientSecret') ?? ''},
          })
        } catch (error) {
          if (!(error instanceof PortalError) || error.status >= 500) throw error
          return {html: signInForm(next, 'Those client credentials were not accepted.'), status: 401}
        }
        return {cookie: sessionCookie(await sessions.open(clientId), now), redirect: next}
      },
      method: 'POST',
      pattern: '/sign-in',
      who: 'anyone',
    },
    {
      // The code is used up here; the redirect takes it out of the address bar and history.
      handler: async ({url, now}) => {
        const session = await sessions.redeem(url.searchParams.get('code') ?? '')
        if (!session) {
          return {
            html: signInForm('/catalog', 'That sign-in link has been used or has expired; run idp portal open again.'),
            status: 401,
          }
        }
        return {cookie: sessionCookie(session, now), redirect: '/catalog'}
      },
      method: 'GET',
      pattern: '/sign-in/link',
      who: 'anyone',
    },
    {
      handler: async ({session, now}) => {
        await sessions.close(session!.token)
        return {cookie: sessionCookie(undefined, now), redirect: '/sign-in'}
      },
      method: 'POST',
      pattern: '/sign-out',
      who: 'signed-in',
    },
  ]
}
