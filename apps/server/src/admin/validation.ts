import { ValidationPipe, type ValidationError } from '@nestjs/common';
import type { ValidationOptions } from 'class-validator';
import { invalidArgument, type DomainError } from '#errors';

/** The ErrorDetail id of a request refused for a problem no constraint names (an unknown field, not an object). */
export const INVALID_REQUEST_ID = 'ADMIN-Req00';
/** At most this many problems are listed in one message; a request may have thousands. */
const MAX_LISTED = 10;

/**
 * A constraint's options naming its problem: `id` becomes the ErrorDetail id when the
 * constraint fails, e.g. `@IsString(problem('ADMIN-OrgNm'))`.
 */
export function problem(id: string): ValidationOptions {
  return { context: { errorId: id } };
}

interface Problem {
  id: string | undefined;
  text: string;
}

function problemsOf(errors: readonly ValidationError[], path = ''): Problem[] {
  return errors.flatMap((error) => {
    const property = path ? `${path}.${error.property}` : error.property;
    const own = Object.entries(error.constraints ?? {}).map(([constraint, text]) => {
      const context = error.contexts?.[constraint] as { errorId?: unknown } | undefined;
      return { id: typeof context?.errorId === 'string' ? context.errorId : undefined, text };
    });
    return [...own, ...problemsOf(error.children ?? [], property)];
  });
}

/**
 * The ValidationPipe's exceptionFactory: the failed constraints as ONE InvalidArgument, so bad
 * input is answered like every other error of the API (400, code 3, an ErrorDetail). The id
 * is that of the first problem a constraint names (an unknown field is often the typo of a
 * missing one, which says more); the message lists the problems in class-validator's words.
 */
export function invalidRequest(errors: readonly ValidationError[]): DomainError {
  const problems = problemsOf(errors);
  const listed = problems.slice(0, MAX_LISTED).map((p) => p.text);
  if (problems.length > MAX_LISTED) listed.push(`and ${problems.length - MAX_LISTED} more`);
  return invalidArgument(problems.find((p) => p.id)?.id ?? INVALID_REQUEST_ID, 'Errors.Request.Invalid', { problems: listed.join('; ') || 'malformed' });
}

/**
 * The pipe every Nest route's body and params go through: class-transformer builds the DTO,
 * class-validator checks it. Fields the DTO does not declare are refused (an operator's typo
 * must not be silently ignored), and the handler gets the DTO instance.
 */
export function apiValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    transform: true,
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    exceptionFactory: invalidRequest,
  });
}
