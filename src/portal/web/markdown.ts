import {Marked, type Tokens} from 'marked'

import {escapeHtml, safeUrl, trusted, type Html} from './html.js'

/**
 * Markdown for member content: raw HTML in it is shown as text, links go only to http(s) (others
 * become their text) and open nothing else, and images become links (CSP loads none from afar).
 */
const marked = new Marked({
  async: false,
  gfm: true,
  renderer: {
    html: ({text}: Tokens.HTML | Tokens.Tag) => escapeHtml(text),
    image: ({href, text}: Tokens.Image) => {
      const url = safeUrl(href)
      return url
        ? `<a href="${escapeHtml(url)}" rel="noopener noreferrer">${escapeHtml(text || url)}</a>`
        : escapeHtml(text)
    },
    link(this: {parser: {parseInline: (tokens: Tokens.Generic[]) => string}}, {href, tokens}: Tokens.Link) {
      const inner = this.parser.parseInline(tokens)
      const url = safeUrl(href)
      return url ? `<a href="${escapeHtml(url)}" rel="noopener noreferrer">${inner}</a>` : inner
    },
  },
})

export const markdown = (text: string): Html => trusted(marked.parse(text, {async: false}))
