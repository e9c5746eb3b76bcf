import {describe, expect, it} from 'vitest'

import {fromNow} from '../../src/portal/web/format.js'
import {html, safeUrl} from '../../src/portal/web/html.js'
import {markdown} from '../../src/portal/web/markdown.js'

describe('web view rendering', () => {
  it('escapes every interpolated value unless it is already HTML', () => {
    const title = `"><script>alert(1)</script>`
    expect(String(html`<a title="${title}">${title}</a>`)).toBe(
      '<a title="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;">&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;</a>',
    )
    expect(String(html`<p>${html`<b>${'<i>'}</b>`}</p>`)).toBe('<p><b>&lt;i&gt;</b></p>')
  })

  it('takes only http(s) links from members', () => {
    expect(safeUrl('https://example.com/a?b=1')).toBe('https://example.com/a?b=1')
    for (const hostile of [
      'javascript:alert(1)',
      'JaVaScRiPt:alert(1)',
      ' javascript:x',
      'data:text/html,x',
      'vbscript:x',
      '//x',
    ])
      expect(safeUrl(hostile), hostile).toBeUndefined()
  })

  it('renders markdown with raw HTML as text and no link but http(s)', () => {
    const rendered = String(
      markdown(
        '**bold** <img src=x onerror=alert(1)> [ok](https://example.com) [bad](javascript:alert(1)) ![i](https://x/i.png)',
      ),
    )
    expect(rendered).toContain('<strong>bold</strong>')
    expect(rendered).toContain('&lt;img src=x onerror=alert(1)&gt;')
    expect(rendered).toContain('<a href="https://example.com/" rel="noopener noreferrer">ok</a>')
    expect(rendered).not.toContain('javascript:')
    expect(rendered).not.toContain('<img')
  })

  it('tells times as people say them', () => {
    const now = new Date('2026-01-01T00:00:00Z')
    expect(fromNow(new Date('2026-01-06T00:00:00Z'), now)).toBe('in 5 days')
    expect(fromNow(new Date('2025-12-31T21:00:00Z'), now)).toBe('3 hours ago')
    expect(fromNow(now, now)).toBe('now')
  })
})
