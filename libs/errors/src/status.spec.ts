import { describe, expect, it } from '@jest/globals';
import { aborted, DomainError, failedPrecondition, notFound, unauthenticated, type ErrorKind } from './domain-error.js';
import { translate } from './messages.js';
import { errorBody, errorHeaders, grpcCodeOf, grpcCodeOfHttpStatus, GrpcCode, httpErrorOf, httpStatusOf, httpStatusOfCode, statusBody } from './status.js';

describe('the one error mapping: kind → gRPC code → HTTP status and body', () => {
  it('gives each kind the gRPC code of the same name, and the HTTP status grpc-gateway gives that code', () => {
    const expected: Record<ErrorKind, [number, number]> = {
      InvalidArgument: [3, 400],
      NotFound: [5, 404],
      AlreadyExists: [6, 409],
      PermissionDenied: [7, 403],
      ResourceExhausted: [8, 429],
      FailedPrecondition: [9, 400],
      Aborted: [10, 409],
      Unimplemented: [12, 501],
      Internal: [13, 500],
      Unavailable: [14, 503],
      Unauthenticated: [16, 401],
    };
    for (const [kind, [code, status]] of Object.entries(expected) as [ErrorKind, [number, number]][]) {
      expect([kind, grpcCodeOf(kind), httpStatusOf(kind)]).toEqual([kind, code, status]);
    }
  });

  it('maps the codes no kind has as grpc-gateway does, and an unknown code to 500', () => {
    expect([1, 2, 4, 11, 15, 99].map(httpStatusOfCode)).toEqual([499, 500, 504, 400, 500, 500]);
  });

  it('Given a DomainError, When rendered, Then "<text> (<id>)" and one zitadel.v1.ErrorDetail {id, text}', () => {
    const err = failedPrecondition('COMMAND-KLJ2d', 'Errors.User.MFA.OTP.NotReady');
    expect(errorBody(err)).toEqual({
      code: 9,
      message: "Multifactor OTP (OneTimePassword) isn't ready (COMMAND-KLJ2d)",
      details: [{ '@type': 'type.googleapis.com/zitadel.v1.ErrorDetail', id: 'COMMAND-KLJ2d', message: "Multifactor OTP (OneTimePassword) isn't ready" }],
    });
    expect(httpErrorOf(err)).toEqual({ status: 400, headers: {}, body: errorBody(err) });
  });

  it('sets WWW-Authenticate to the status message on Unauthenticated only (grpc-gateway)', () => {
    const err = unauthenticated('AUTH-7fs1e', 'Errors.Token.Invalid');
    // The key is the text: ZITADEL refuses a token before its translation step.
    expect(httpErrorOf(err)).toMatchObject({ status: 401, headers: { 'www-authenticate': 'Errors.Token.Invalid (AUTH-7fs1e)' } });
    expect(errorHeaders(GrpcCode.NotFound, 'Not Found')).toEqual({});
  });

  it('leaves an empty details list out of the body, as ZITADEL’s gateway marshaller does', () => {
    expect(statusBody(16, 'auth header missing')).toEqual({ code: 16, message: 'auth header missing' });
  });

  it('gives the HTTP layer’s own refusals a code', () => {
    expect([400, 401, 403, 404, 405, 413, 418, 500, 503].map(grpcCodeOfHttpStatus)).toEqual([3, 16, 7, 5, 12, 8, 3, 13, 14]);
  });
});

describe('message texts with parameters', () => {
  it('fills the placeholders of the text from the params; a placeholder without a param stays', () => {
    expect(notFound('ADMIN-PrjNf', 'Errors.Projection.NotFound', { name: 'nope', known: 'users' }).statusMessage).toBe(
      'there is no projection "nope"; the projections are: users (ADMIN-PrjNf)',
    );
    expect(translate('Errors.Projection.NoReplay')).toBe('no replay of {name} has run in this server process');
    expect(aborted('ADMIN-RpBsy', 'Errors.Projection.ReplayRunning', { name: 'users' }).message).toBe(
      'a replay of users is already running; follow it, or cancel it',
    );
  });

  it('keeps a key without params as it was, and an unknown key as it is', () => {
    expect(new DomainError('NotFound', 'X-1', 'Errors.NotFound').message).toBe('Not found');
    expect(translate('Errors.Unknown.Key', { a: 1 })).toBe('Errors.Unknown.Key');
  });
});
