import {ExitCode, IdpError} from '../errors.js'
import type {HttpRequest, HttpResponse, NetworkError} from './http.js'

/** A non-2xx answer from the portal, carrying Port's `error` code and `message`. */
export class ApiError extends IdpError {
  constructor(
    readonly status: number,
    readonly portError: string,
    message: string,
    readonly method: string,
    readonly url: string,
    details?: unknown,
  ) {
    super(message, {
      code: portError,
      details,
      exitCode: exitCodeForStatus(status),
      ...(status === 403
        ? {hint: '`idp auth status` shows which credentials were used; an admin decides what they may do.'}
        : {}),
    })
  }

  override toJSON(): Record<string, unknown> {
    return {...super.toJSON(), status: this.status}
  }
}

export function exitCodeForStatus(status: number): ExitCode {
  if (status === 401 || status === 403) return ExitCode.AUTH
  if (status === 404) return ExitCode.NOT_FOUND
  if (status === 400 || status === 413 || status === 422) return ExitCode.VALIDATION
  return ExitCode.API
}

export class UnreachableError extends IdpError {
  constructor(url: string, reason: string, hint: string) {
    super(`Cannot reach the portal at ${url} (${reason}).`, {code: 'unreachable', exitCode: ExitCode.UNREACHABLE, hint})
  }
}

export function unreachable(apiUrl: string, error: NetworkError, hint: string): UnreachableError {
  const reason = error.code === 'ECONNREFUSED' ? 'connection refused' : error.code
  return new UnreachableError(apiUrl, reason, hint)
}

export function toApiError(request: Pick<HttpRequest, 'method' | 'path'>, response: HttpResponse, apiUrl: string) {
  const body = (typeof response.body === 'object' && response.body !== null ? response.body : {}) as Record<
    string,
    unknown
  >
  const code = typeof body.error === 'string' ? body.error : `http_${response.status}`
  const message =
    typeof body.message === 'string'
      ? body.message
      : `${request.method} ${request.path} failed with HTTP ${response.status}${typeof response.body === 'string' && response.body ? `: ${response.body.slice(0, 200)}` : ''}`
  return new ApiError(response.status, code, message, request.method, apiUrl + request.path, body.details)
}
