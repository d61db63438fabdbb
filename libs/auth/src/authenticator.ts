import type { Caller } from '#access';

/**
 * Turns the `Authorization` header of a call into the Caller. Throws a DomainError of kind
 * Unauthenticated when the header is missing or the token fails verification.
 */
export interface Authenticator {
  authenticate(authorization: string | undefined): Promise<Caller>;
}

export const AUTHENTICATOR = Symbol('Authenticator');
