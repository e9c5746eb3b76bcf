import type {JqEngine} from '../../jq/engine.js'
import {textOf} from '../../shared/json.js'

const WHOLE = /^\s*\{\{(.+?)\}\}\s*$/s
const PART = /\{\{(.+?)\}\}/gs
const SPREAD = /^\s*\{\{\s*spreadValue\(\)\s*\}\}\s*$/

/**
 * Port's payload templates: a string that is exactly one `{{ expr }}` becomes the expression's
 * typed value; other strings interpolate each `{{ }}` (strings as they are, anything else as
 * JSON). Arrays and objects render recursively, keys too: a key that renders to null or "" drops
 * its entry, and `"{{ spreadValue() }}": "{{ .inputs }}"` merges an object into its parent.
 */
export async function renderTemplate(
  template: unknown,
  context: unknown,
  jq: JqEngine,
  options: RenderOptions = {},
): Promise<unknown> {
  if (typeof template === 'string') return renderString(template, context, jq, options)
  if (Array.isArray(template)) return Promise.all(template.map((item) => renderTemplate(item, context, jq, options)))
  if (template === null || typeof template !== 'object') return template
  const result: Record<string, unknown> = {}
  for (const [rawKey, rawValue] of Object.entries(template)) {
    const value = await renderTemplate(rawValue, context, jq, options)
    if (SPREAD.test(rawKey)) {
      if (value && typeof value === 'object' && !Array.isArray(value)) Object.assign(result, value)
      continue
    }
    const key = rawKey.includes('{{') ? await renderString(rawKey, context, jq, options) : rawKey
    if (key === null || key === undefined || key === '') continue
    if (typeof key !== 'string')
      throw new Error(`template key "${rawKey}" rendered to ${JSON.stringify(key)}, not a string`)
    result[key] = value
  }
  return result
}

export interface RenderOptions {
  /** Applied to each value interpolated into a longer string (not to a whole-string expression). */
  encodePart?: (text: string) => string
}

async function renderString(template: string, context: unknown, jq: JqEngine, options: RenderOptions) {
  if (!template.includes('{{')) return template
  const whole = WHOLE.exec(template)
  if (whole && !whole[1]!.includes('{{') && !whole[1]!.includes('}}')) return jq.first(whole[1]!.trim(), context)
  const parts: string[] = []
  let last = 0
  for (const match of template.matchAll(PART)) {
    parts.push(template.slice(last, match.index))
    const value = await jq.first(match[1]!.trim(), context)
    const text = value === null || value === undefined ? '' : textOf(value)
    parts.push(options.encodePart ? options.encodePart(text) : text)
    last = match.index! + match[0].length
  }
  parts.push(template.slice(last))
  return parts.join('')
}
