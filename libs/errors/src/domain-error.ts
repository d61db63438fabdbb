import { translate, type MessageParams } from './messages.js';

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
 * same ids as ZITADEL where ZITADEL has one); `key` is the i18n message key, `params` fill
 * the placeholders of its text. How each kind goes on the wire: ./status.ts.
 */
export class DomainError extends Error {
  override readonly name = 'DomainError';
  constructor(
    readonly kind: ErrorKind,
    readonly id: string,
    readonly key: string,
    readonly params: MessageParams = {},
  ) {
    super(translate(key, params));
  }

  /** "<text> (<id>)", as ZITADEL writes its gRPC status messages. */
  get statusMessage(): string {
    return `${this.message} (${this.id})`;
  }
}

export const invalidArgument = (id: string, key: string, params?: MessageParams) => new DomainError('InvalidArgument', id, key, params);
export const notFound = (id: string, key: string, params?: MessageParams) => new DomainError('NotFound', id, key, params);
export const alreadyExists = (id: string, key: string, params?: MessageParams) => new DomainError('AlreadyExists', id, key, params);
export const permissionDenied = (id: string, key: string, params?: MessageParams) => new DomainError('PermissionDenied', id, key, params);
export const failedPrecondition = (id: string, key: string, params?: MessageParams) => new DomainError('FailedPrecondition', id, key, params);
export const resourceExhausted = (id: string, key: string, params?: MessageParams) => new DomainError('ResourceExhausted', id, key, params);
export const aborted = (id: string, key: string, params?: MessageParams) => new DomainError('Aborted', id, key, params);
export const unauthenticated = (id: string, key: string, params?: MessageParams) => new DomainError('Unauthenticated', id, key, params);
export const internal = (id: string, key: string, params?: MessageParams) => new DomainError('Internal', id, key, params);

export function isDomainError(err: unknown): err is DomainError {
  return err instanceof DomainError;
}
