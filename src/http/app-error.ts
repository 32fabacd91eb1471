import type { ProblemCode, ValidationIssue } from './problem'

/**
 * A failure the caller can act on, thrown anywhere below the handlers and turned into a problem
 * response in one place (`handleError`). The code decides the status; `detail` is shown to the
 * caller, so it must never contain secrets or driver internals.
 */
export class AppError extends Error {
  constructor(
    readonly code: ProblemCode,
    readonly detail: string,
    readonly extra: { headers?: Record<string, string>; errors?: ValidationIssue[] } = {},
  ) {
    super(detail)
    this.name = 'AppError'
  }
}
