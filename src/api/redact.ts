const SECRET_KEY = /secret|password|token|authorization|api[-_]?key|credential/i

/** A copy of `value` with every secret-looking field replaced, for debug traces and error details. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 20 || value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1))
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [
      key,
      SECRET_KEY.test(key) && item !== null && typeof item !== 'object' ? '[redacted]' : redact(item, depth + 1),
    ]),
  )
}
