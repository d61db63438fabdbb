import { Command } from '@nestjs/cqrs';
import { failedPrecondition, notFound } from '#errors';
import type { NewEvent } from '#eventstore';
import { authorizeOnUser } from '../authorize.js';
import { eventMetadata, type CommandContext } from '#kernel';
import { assertEmail, EMAIL_CODE_TTL_MS, type EmailVerification, type NewCode } from '../email-code.js';
import { UserEventType, type UserEvent } from '../events.js';
import type { ObjectDetails } from '#kernel';
import type { UserState } from '../user-state.js';

export interface SetEmailInput extends CommandContext {
  userId: string;
  email: string;
  verification: EmailVerification;
}

export interface SetEmailResult {
  details: ObjectDetails;
  /** Only when the caller asked for the code to be returned. */
  verificationCode?: string;
}

/** Changes a human user's email (ZITADEL's SetEmail); the new address starts unverified. */
export class SetEmailCommand extends Command<SetEmailResult> {
  constructor(readonly input: SetEmailInput) {
    super();
  }
}

/**
 * ZITADEL's order (NewUserEmailEvents, then Change): a user that does not exist, or is not a
 * human (ZITADEL's email write model sees no human there), is NotFound `COMMAND-ieJ2e`; then the
 * permission; then the address. The same address again is FailedPrecondition `COMMAND-Uch5e`,
 * verified or not (a new code for the same address is ResendEmailCode's job in ZITADEL).
 */
export function decideSetEmail(state: UserState, input: SetEmailInput, code: NewCode, now: Date): NewEvent<UserEvent>[] {
  assertEmailUser(state);
  authorizeOnUser(input.caller, input.userId, state, 'user.write');
  const email = assertEmail(input.email);
  if (email === state.email) throw failedPrecondition('COMMAND-Uch5e', 'Errors.User.Email.NotChanged');
  const metadata = eventMetadata(input, state.orgId!);
  const events: NewEvent<UserEvent>[] = [];
  if (email !== state.email) events.push({ type: UserEventType.EmailChanged, data: { email }, metadata });
  events.push(...verificationEvents(email, input.verification, code, now, metadata));
  return events;
}

/** ZITADEL's NewUserEmailEvents: SetEmail and VerifyEmail need an existing human user. */
export function assertEmailUser(state: UserState): void {
  if (!state.exists || state.kind !== 'human') throw notFound('COMMAND-ieJ2e', 'Errors.User.Email.NotFound');
}

/** The events that follow a new address: verified at once, or a code to send or return. */
export function verificationEvents(
  email: string,
  verification: EmailVerification,
  code: NewCode,
  now: Date,
  metadata: NewEvent['metadata'],
): NewEvent<UserEvent>[] {
  if (verification.kind === 'verified') return [{ type: UserEventType.EmailVerified, data: { email }, metadata }];
  return [
    {
      type: UserEventType.EmailCodeAdded,
      data: {
        code: { ...code.encrypted },
        expiresAt: new Date(now.getTime() + EMAIL_CODE_TTL_MS).toISOString(),
        sendEmail: verification.kind === 'send',
        ...(verification.kind === 'send' && verification.urlTemplate ? { urlTemplate: verification.urlTemplate } : {}),
      },
      metadata,
    },
  ];
}
