/** Exit codes are part of the CLI's contract: documented in the README and asserted in tests. */
export const ExitCode = {
  OK: 0,
  INTERNAL: 1,
  USAGE: 2,
  VALIDATION: 3,
  AUTH: 4,
  NOT_FOUND: 5,
  API: 6,
  UNREACHABLE: 7,
  /** Some writes of a sync failed; the summary says which. */
  PARTIAL: 8,
  /** The watched run ended in FAILURE. */
  RUN_FAILED: 9,
  /** The watched run's approval was declined. */
  RUN_DECLINED: 10,
  /** Watching timed out; the run is still going. */
  WATCH_TIMEOUT: 11,
  /** `catalog plan --detailed-exitcode`: the plan has changes (Terraform's 2, which is usage here). */
  PLAN_CHANGES: 12,
  /** Ctrl-C: idp stopped watching (the run goes on). */
  INTERRUPTED: 130,
} as const
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

export interface IdpErrorOptions {
  /** Machine-readable code, stable for scripts (`--json` prints it). */
  code: string
  exitCode: ExitCode
  /** One line telling the user what to do next. */
  hint?: string
  details?: unknown
  cause?: unknown
}

export class IdpError extends Error {
  readonly code: string
  readonly exitCode: ExitCode
  readonly hint: string | undefined
  readonly details: unknown
  /** oclif's error handler reads these two: exit with our code and do not print the error again. */
  readonly oclif: {exit: number}
  readonly skipOclifErrorHandling = true

  constructor(message: string, options: IdpErrorOptions) {
    super(message, {cause: options.cause})
    this.name = new.target.name
    this.code = options.code
    this.exitCode = options.exitCode
    this.hint = options.hint
    this.details = options.details
    this.oclif = {exit: options.exitCode}
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      exitCode: this.exitCode,
      message: this.message,
      ...(this.hint ? {hint: this.hint} : {}),
      ...(this.details === undefined ? {} : {details: this.details}),
    }
  }
}

export const usageError = (message: string, hint?: string, details?: unknown): IdpError =>
  new IdpError(message, {code: 'usage', exitCode: ExitCode.USAGE, ...(hint ? {hint} : {}), details})

export const authError = (message: string, hint?: string): IdpError =>
  new IdpError(message, {code: 'auth', exitCode: ExitCode.AUTH, ...(hint ? {hint} : {})})

export const validationError = (message: string, hint?: string, details?: unknown): IdpError =>
  new IdpError(message, {code: 'validation', exitCode: ExitCode.VALIDATION, ...(hint ? {hint} : {}), details})
