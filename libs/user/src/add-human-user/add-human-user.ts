import { Command } from '@nestjs/cqrs';
import { hasPermission } from '#access';
import { alreadyExists, invalidArgument, permissionDenied } from '#errors';
import type { NewEvent } from '#eventstore';
import { eventMetadata, type CommandContext } from '#kernel';
import { assertEmail, type EmailVerification, type NewCode } from '../email-code.js';
import { UserEventType, type Profile, type UserEvent } from '../events.js';
import type { ObjectDetails } from '#kernel';
import { verificationEvents } from '../set-email/set-email.js';
import type { UserState } from '../user-state.js';

export interface AddHumanUserInput extends CommandContext {
  /** Given by the caller, or generated. */
  userId?: string;
  /** Defaults to the email address, as in ZITADEL. */
  username?: string;
  /** Defaults to the request's organization (`x-zitadel-orgid`), else the caller's. */
  orgId?: string;
  profile: Omit<Profile, 'displayName'> & { displayName?: string };
  email: string;
  verification: EmailVerification;
}

export interface AddHumanUserResult {
  userId: string;
  details: ObjectDetails;
  emailCode?: string;
}

/** Creates a human user (ZITADEL's AddHumanUser). */
export class AddHumanUserCommand extends Command<AddHumanUserResult> {
  constructor(readonly input: AddHumanUserInput) {
    super();
  }
}

export interface AddHumanUserFacts {
  userId: string;
  orgId: string;
  orgExists: boolean;
  /** The state of the stream `user-<userId>`: it must be empty. */
  existing: UserState;
  code: NewCode;
  now: Date;
}

export function decideAddHumanUser(input: AddHumanUserInput, facts: AddHumanUserFacts): NewEvent<UserEvent>[] {
  // ZITADEL refuses an unknown organization before the method runs (the request field is the
  // method's org_field), with the answer it gives for an unknown x-zitadel-orgid.
  if (!facts.orgExists) throw permissionDenied('AUTH-Bs7Ds', 'Errors.Org.NotExisting');
  if (!hasPermission(input.caller, 'user.write', facts.orgId)) throw permissionDenied('AUTH-AWfge', 'Errors.Permission.Denied');
  if (facts.existing.version > 0) throw alreadyExists('COMMAND-7yiox', 'Errors.User.AlreadyExists');
  const email = assertEmail(input.email);
  const givenName = input.profile.givenName?.trim();
  const familyName = input.profile.familyName?.trim();
  if (!givenName || !familyName) throw invalidArgument('USER-UCej2', 'Errors.User.Profile.Invalid');
  const username = input.username?.trim() || email;
  const profile: Profile = {
    givenName,
    familyName,
    displayName: input.profile.displayName?.trim() || `${givenName} ${familyName}`,
    ...(input.profile.nickName ? { nickName: input.profile.nickName } : {}),
    ...(input.profile.preferredLanguage ? { preferredLanguage: input.profile.preferredLanguage } : {}),
    ...(input.profile.gender ? { gender: input.profile.gender } : {}),
  };
  const metadata = eventMetadata(input, facts.orgId);
  return [
    { type: UserEventType.HumanAdded, data: { username, orgId: facts.orgId, profile: { ...profile }, email }, metadata },
    ...verificationEvents(email, input.verification, facts.code, facts.now, metadata),
  ];
}
