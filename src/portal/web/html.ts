/** HTML that is already safe: only `html` templates and `trusted` make one. */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text
  }
}

const ESCAPES: Record<string, string> = {'"': '&quot;', '&': '&amp;', "'": '&#39;', '<': '&lt;', '>': '&gt;'}

export const escapeHtml = (text: string) => text.replaceAll(/["&'<>]/g, (char) => ESCAPES[char]!)

type Part = Html | string | number | boolean | null | undefined | Part[]

const render = (part: Part): string => {
  if (part === null || part === undefined || part === false) return ''
  if (part instanceof Html) return part.text
  if (Array.isArray(part)) return part.map(render).join('')
  return escapeHtml(String(part))
}

/**
 * A template whose every interpolated value is escaped unless it is Html already: member content
 * (titles, properties, logs) can only ever be text. Attributes must be quoted in the template.
 */
export function html(strings: TemplateStringsArray, ...values: Part[]): Html {
  let text = strings[0]!
  for (const [index, value] of values.entries()) text += render(value) + strings[index + 1]!
  return new Html(text)
}

/** Marks text this module's callers produced as HTML (the markdown renderer's output, an SVG). */
export const trusted = (text: string) => new Html(text)

/** A member-given URL if it is http(s); `javascript:`, `data:` and every other scheme are refused. */
export function safeUrl(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined
  try {
    const url = new URL(value)
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined
  } catch {
    return undefined
  }
}

/** A path with each segment percent-encoded: `/entities/${bp}/${id}` for any identifier. */
export const path = (...segments: string[]) => '/' + segments.map(encodeURIComponent).join('/')
