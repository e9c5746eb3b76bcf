/**
 * Webhooks and automations may call the portal's own API, with the organisation's rights (the
 * TTL recipe deletes entities that way). Such a call must reach exactly the resource its template
 * names, whatever the values in it: values are percent-encoded where they are interpolated (so an
 * identifier with `/` stays one path segment), and a URL whose path has dot-segments, backslashes,
 * or is changed by URL normalisation is refused.
 */
export const encodeSelfCallPart = (text: string) => encodeURIComponent(text)

/** Why this self-call URL is refused, or undefined when it may be sent. */
export function selfCallProblem(rendered: string): string | undefined {
  const match = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*([^?#]*)/i.exec(rendered)
  if (!match) return 'it is not an absolute http(s) URL'
  const rawPath = match[1]!
  // eslint-disable-next-line no-control-regex -- control characters are what this looks for
  if (/[\\\u0000-\u001f\u007f]/.test(rawPath)) return 'its path holds a backslash or a control character'
  const rawSegments = rawPath.split('/').map(decodeSegment)
  if (rawSegments.some((segment) => segment === undefined)) return 'its path has malformed percent-encoding'
  if (rawSegments.some((segment) => segment === '.' || segment === '..'))
    return 'its path has a "." or ".." segment (raw or percent-encoded)'
  let normalised: string
  try {
    normalised = new URL(rendered).pathname
  } catch {
    return 'it is not a valid URL'
  }
  const same =
    normalised.split('/').map(decodeSegment).join('\u0000') === rawSegments.join('\u0000') ||
    (rawPath === '' && normalised === '/')
  return same ? undefined : `URL normalisation changes its path (${rawPath} → ${normalised})`
}

function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment)
  } catch {
    return undefined
  }
}
