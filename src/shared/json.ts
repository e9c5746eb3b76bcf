/** A body or answer that is JSON when it parses, else the text itself ('' is undefined). */
export function jsonOrText(text: string): unknown {
  if (text === '') return undefined
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}
