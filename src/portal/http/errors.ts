import type {SchemaIssue} from '../../schemas/registry.js'

/** A failure answered with Port's envelope: `{ok: false, error, message}`. */
export class PortalError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

export const notFound = (message: string) => new PortalError(404, 'not_found', message)
export const conflict = (message: string) => new PortalError(409, 'conflict', message)

/**
 * 422 listing every issue as `<JSON pointer> <problem>` in the message: Port's error envelope
 * has no other field for them (its spec allows only ok, error and message).
 */
export function invalid(what: string, issues: SchemaIssue[], code = 'invalid_request'): PortalError {
  const listed = issues.map((issue) => `${issue.pointer || '/'} ${issue.message}`).join('; ')
  return new PortalError(422, code, `${what}: ${listed}`)
}
