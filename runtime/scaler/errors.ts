/** The one error type of the scaler's calls: a gRPC status code and the reason its metrics count it under. */
import { status } from '@grpc/grpc-js';
import { ScalerErrorReasons } from '../contract';

export type ScalerErrorReason = (typeof ScalerErrorReasons)[keyof typeof ScalerErrorReasons];

/** What the scaler answers for each reason: KEDA's fallback applies to any error, the code tells people why. */
export const REASON_CODES: Readonly<Record<ScalerErrorReason, status>> = {
  stale: status.FAILED_PRECONDITION,
  missing: status.NOT_FOUND,
  unreadable: status.FAILED_PRECONDITION,
  horizon: status.FAILED_PRECONDITION,
  redis: status.UNAVAILABLE,
  deadline: status.DEADLINE_EXCEEDED,
  metadata: status.INVALID_ARGUMENT,
  internal: status.INTERNAL,
};

export class ScalerError extends Error {
  readonly code: status;
  constructor(
    readonly reason: ScalerErrorReason,
    message: string,
  ) {
    super(message);
    this.name = 'ScalerError';
    this.code = REASON_CODES[reason];
  }
}

/** Any failure as a ScalerError (an unexpected one is INTERNAL). */
export function asScalerError(error: unknown): ScalerError {
  if (error instanceof ScalerError) return error;
  return new ScalerError('internal', error instanceof Error ? error.message : String(error));
}

/** The name of a gRPC status code (`NOT_FOUND`): the `code` label. */
export function codeName(code: status): string {
  return status[code] ?? String(code);
}
