import { translate } from './messages.js';

/** The kinds of failure, named as gRPC names them; the transport maps each to its code. */
export type ErrorKind =
  | 'InvalidArgument'
  | 'NotFound'
  | 'AlreadyExists'
  | 'PermissionDenied'
  | 'FailedPrecondition'
  | 'ResourceExhausted'
  | 'Aborted'
  | 'Unauthenticated'
  | 'Unimplemented'
  | 'Unavailable'
  | 'Internal';

/**
 * The one error type of the domain. `id` is stable and grep-able (e.g. COMMAND-MKL2s, the
 * same ids as ZITADEL where ZITADEL has one); `key` is the i18n message key.
 */
export class DomainError extends Error {
  override readonly name = 'DomainError';
  constructor(
    readonly kind: ErrorKind,
    readonly id: string,
    readonly key: string,
  ) {
    super(translate(key));
  }

  /** "<text> (<id>)", as ZITADEL writes its gRPC status messages. */
  get statusMessage(): string {
    return `${this.message} (${this.id})`;
  }
}

export const invalidArgument = (id: string, key: string) => new DomainError('InvalidArgument', id, key);
export const notFound = (id: string, key: string) => new DomainError('NotFound', id, key);
export const alreadyExists = (id: string, key: string) => new DomainError('AlreadyExists', id, key);
export const permissionDenied = (id: string, key: string) => new DomainError('PermissionDenied', id, key);
export const failedPrecondition = (id: string, key: string) => new DomainError('FailedPrecondition', id, key);
export const resourceExhausted = (id: string, key: string) => new DomainError('ResourceExhausted', id, key);
export const aborted = (id: string, key: string) => new DomainError('Aborted', id, key);
export const unauthenticated = (id: string, key: string) => new DomainError('Unauthenticated', id, key);
export const internal = (id: string, key: string) => new DomainError('Internal', id, key);

export function isDomainError(err: unknown): err is DomainError {
  return err instanceof DomainError;
}
