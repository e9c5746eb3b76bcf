import type {PropertySchema} from '../../model/port.js'
import {html, safeUrl, type Html} from './html.js'
import {markdown} from './markdown.js'

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 86_400_000],
  ['month', 30 * 86_400_000],
  ['week', 7 * 86_400_000],
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
]
const relative = new Intl.RelativeTimeFormat('en', {numeric: 'auto'})

/** "in 5 days", "3 hours ago", "now". */
export function fromNow(time: Date, now: Date): string {
  const delta = time.getTime() - now.getTime()
  for (const [unit, size] of UNITS) {
    if (Math.abs(delta) >= size) return relative.format(Math.round(delta / size), unit)
  }
  return 'now'
}

/** A time as "in 5 days", with the exact time on hover and for machines. */
export function time(value: unknown, now: Date): Html {
  const parsed = typeof value === 'string' ? new Date(value) : undefined
  if (!parsed || Number.isNaN(parsed.getTime())) return html`${String(value ?? '')}`
  const iso = parsed.toISOString()
  return html`<time datetime="${iso}" title="${iso}">${fromNow(parsed, now)}</time>`
}

const json = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value))

/** One property's value shown by its type: links, markdown, times, booleans, lists. */
export function propertyValue(value: unknown, schema: Partial<PropertySchema> | undefined, now: Date): Html {
  if (value === undefined || value === null || value === '') return html`<span class="muted">—</span>`
  if (Array.isArray(value)) {
    if (value.length === 0) return html`<span class="muted">—</span>`
    return html`<ul class="list">
      ${value.map((item) => html`<li>${propertyValue(item, schema?.items, now)}</li>`)}
    </ul>`
  }
  if (typeof value === 'boolean')
    return html`<span class="bool ${value ? 'yes' : 'no'}">${value ? '✓ yes' : '✗ no'}</span>`
  const format = schema?.format
  if (typeof value === 'string') {
    if (format === 'url' || (format === undefined && /^https?:\/\//.test(value))) {
      const url = safeUrl(value)
      return url ? html`<a href="${url}" rel="noopener noreferrer">${value}</a>` : html`${value}`
    }
    if (format === 'date-time' || format === 'timer') return time(value, now)
    if (format === 'markdown') return html`<div class="markdown">${markdown(value)}</div>`
    if (['yaml', 'multi-line', 'proto'].includes(format ?? '')) return html`<pre>${value}</pre>`
  }
  if (typeof value === 'object') return html`<pre>${JSON.stringify(value, null, 2)}</pre>`
  return html`${json(value)}`
}

/** A short cell for tables: the same, with objects on one line. */
export function cellValue(value: unknown, schema: Partial<PropertySchema> | undefined, now: Date): Html {
  if (value !== null && typeof value === 'object' && !Array.isArray(value))
    return html`<code>${JSON.stringify(value)}</code>`
  if (schema?.format === 'markdown' && typeof value === 'string') return html`${value.slice(0, 80)}`
  return propertyValue(value, schema, now)
}
