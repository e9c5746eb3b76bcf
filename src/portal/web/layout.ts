import {html, type Html} from './html.js'
import type {WebContext} from './context.js'

const NAV = [
  ['/catalog', 'Catalog'],
  ['/self-service', 'Self-service'],
  ['/runs', 'Runs'],
  ['/graph', 'Graph'],
] as const

/** A whole page: skip link, navigation, who is signed in, sign-out, and the page's content. */
export function page(context: WebContext | undefined, title: string, content: Html, current = ''): Html {
  const session = context?.session
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title} · idp portal</title>
        <link rel="stylesheet" href="/assets/app.css" />
        <script src="/assets/app.js" defer></script>
      </head>
      <body>
        <a class="skip" href="#main">Skip to content</a>
        <header class="top">
          <a class="brand" href="/catalog">idp portal</a>
          ${
            session
              ? html`<nav aria-label="Main">
                    <ul>
                      ${NAV.map(
                        ([href, label]) =>
                          html`<li>
                            <a href="${href}" ${current === href ? html` aria-current="page"` : ''}>${label}</a>
                          </li>`,
                      )}
                    </ul>
                  </nav>
                  <form class="who" method="post" action="/sign-out">
                    <span>${session.clientId} <span class="role">${context!.role}</span></span>
                    <input type="hidden" name="_csrf" value="${session.csrf}" />
                    <button type="submit" class="link">Sign out</button>
                  </form>`
              : ''
          }
        </header>
        <main id="main" tabindex="-1">
          <h1>${title}</h1>
          ${content}
        </main>
      </body>
    </html>`
}

/** The hidden field every state-changing form sends. */
export const csrfField = (context: WebContext) =>
  html`<input type="hidden" name="_csrf" value="${context.session!.csrf}" />`
