/** A body or answer that is JSON when it parses, else the text itself ('' is undefined). */
export function jsonOrText(text: string): unknown {
  if (text === '') return undefined
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/** A value as text: a string as it is, anything else as JSON (the inverse of jsonOrText). */
export const textOf = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value))
