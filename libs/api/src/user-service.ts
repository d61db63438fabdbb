import { Inject, Injectable, Optional } from '@nestjs/common';
import { scrubFreedSpace, SQL_DATABASE, type SqlDatabase } from '#database';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import type { HandlerContext } from '@connectrpc/connect';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { DetailsSchema } from '@zitadel/proto/zitadel/object/v2/object_pb.js';
import type { SetHumanEmail } from '@zitadel/proto/zitadel/user/v2/email_pb.js';
import { AddHumanUserCommand, AddOtpEmailCommand, DeleteUserCommand, RemoveOtpEmailCommand, SetEmailCommand, VerifyEmailCommand, type EmailVerification, type Gender } from '#user';
import { Gender as ProtoGender, UserState as ProtoUserState } from '@zitadel/proto/zitadel/user/v2/user_pb.js';
import { AuthenticationMethodType } from '@zitadel/proto/zitadel/user/v2/user_service_pb.js';
import { GetUserByIdQuery, USER_READ_YOUR_WRITES } from '#projections/users';
import type { ReadYourWrites } from '#projections/runner';
import { assertEmailUrlTemplate } from '#session';
import { ListAuthMethodTypesQuery } from '#projections/users';
import type { ProjectedUser } from '#projections/users';
import { listUsersMethod } from './list-users.js';
import { unlockUserMethod } from './unlock-user.method.js';
import { callerOf, commandContextOf } from './transport/caller-context.js';
import type { UserServiceImpl } from './transport/tokens.js';
import { type ObjectDetails } from '#kernel';
import type { Caller } from '#access';

/** Domain details → zitadel.object.v2.Details (uint64 sequence, Timestamp dates; a creation date only on reads). */
export function toDetails(details: ObjectDetails): MessageInitShape<typeof DetailsSchema> {
  return {
    sequence: BigInt(details.sequence),
    changeDate: timestampFromDate(details.changeDate),
    resourceOwner: details.resourceOwner,
    ...(details.creationDate ? { creationDate: timestampFromDate(details.creationDate) } : {}),
  };
}

/** The proto's verification oneof; unset means "send a code", as in ZITADEL. */
export function toEmailVerification(verification: SetHumanEmail['verification']): EmailVerification {
  switch (verification.case) {
    case 'returnCode':
      return { kind: 'return' };
    case 'isVerified':
      return verification.value ? { kind: 'verified' } : { kind: 'send' };
    case 'sendCode':
      return verification.value.urlTemplate ? { kind: 'send', urlTemplate: verification.value.urlTemplate } : { kind: 'send' };
    default:
      return { kind: 'send' };
  }
}

/**
 * A `sendCode.urlTemplate` that cannot be rendered is refused before the command runs, so
 * nothing is written (InvalidArgument `DOMAIN-ieYa7` for an unknown field, `DOMAIN-oGh5e` for a
 * template that does not parse), as ZITADEL renders it once before anything else.
 */
function checkedEmailVerification(verification: SetHumanEmail['verification']): EmailVerification {
  const result = toEmailVerification(verification);
  if (result.kind === 'send' && result.urlTemplate !== undefined) assertEmailUrlTemplate(result.urlTemplate);
  return result;
}

const PROTO_GENDERS: Record<Gender, ProtoGender> = { female: ProtoGender.FEMALE, male: ProtoGender.MALE, diverse: ProtoGender.DIVERSE };

/** zitadel.user.v2.Gender → the event's gender; unspecified and values this code does not know are left out, as ZITADEL's genderToDomain does. */
function genderOf(gender: ProtoGender | undefined): Gender | undefined {
  return (Object.keys(PROTO_GENDERS) as Gender[]).find((g) => PROTO_GENDERS[g] === gender);
}

/** The read model's user → zitadel.user.v2.User (human or machine), as ZITADEL's UserToPb. */
function toProtoUser(user: ProjectedUser, details: ObjectDetails) {
  const common = {
    userId: user.id,
    details: toDetails(details),
    state: user.state === 'locked' ? ProtoUserState.LOCKED : ProtoUserState.ACTIVE,
    username: user.username,
    loginNames: [user.username],
    preferredLoginName: user.username,
  };
  if (user.kind === 'machine') {
    return { ...common, type: { case: 'machine' as const, value: { name: user.machineName ?? '', description: user.machineDescription ?? '' } } };
  }
  return {
    ...common,
    type: {
      case: 'human' as const,
      value: {
        // ZITADEL's humanToPb sets every optional profile field (so JSON has `nickName: ""` and
        // `gender: "GENDER_UNSPECIFIED"` where nothing was given), the language tag "und" when
        // none is set, and a phone message even without a number.
        profile: {
          givenName: user.givenName ?? '',
          familyName: user.familyName ?? '',
          nickName: user.nickName ?? '',
          displayName: user.displayName ?? '',
          preferredLanguage: user.preferredLanguage || 'und',
          gender: user.gender ? PROTO_GENDERS[user.gender] : ProtoGender.UNSPECIFIED,
        },
        email: { email: user.email ?? '', isVerified: user.emailVerified },
        phone: {},
      },
    },
  };
}

const context = commandContextOf;

/** Who asks, and the organization the request names (x-zitadel-orgid), for a query that checks permissions on it. */
function requestOf(ctx: HandlerContext): { caller: Caller; requestOrgId?: string } {
  const { caller, requestOrgId } = commandContextOf(ctx);
  return { caller, ...(requestOrgId ? { requestOrgId } : {}) };
}

/**
 * zitadel.user.v2.UserService: each method turns the request into a command or query on the
 * buses and the result into the response. Everything else lives in the handlers.
 */
@Injectable()
export class UserServiceImplementation {
  constructor(
    @Inject(CommandBus) private readonly commands: CommandBus,
    @Inject(QueryBus) private readonly queries: QueryBus,
    @Optional() @Inject(USER_READ_YOUR_WRITES) private readonly usersProjection?: ReadYourWrites,
    @Optional() @Inject(SQL_DATABASE) private readonly database?: SqlDatabase,
  ) {}

  readonly impl: UserServiceImpl = {
    addHumanUser: async (req, ctx) => {
      const org = req.organization?.org;
      const verification = checkedEmailVerification(req.email?.verification ?? { case: undefined });
      const gender = genderOf(req.profile?.gender);
      const result = await this.commands.execute(
        new AddHumanUserCommand({
          ...context(ctx),
          ...(req.userId ? { userId: req.userId } : {}),
          ...(req.username ? { username: req.username } : {}),
          ...(org?.case === 'orgId' ? { orgId: org.value } : {}),
          profile: {
            givenName: req.profile?.givenName ?? '',
            familyName: req.profile?.familyName ?? '',
            ...(req.profile?.displayName ? { displayName: req.profile.displayName } : {}),
            ...(req.profile?.nickName ? { nickName: req.profile.nickName } : {}),
            ...(req.profile?.preferredLanguage ? { preferredLanguage: req.profile.preferredLanguage } : {}),
            ...(gender ? { gender } : {}),
          },
          email: req.email?.email ?? '',
          verification,
        }),
      );
      return { userId: result.userId, details: toDetails(result.details), ...(result.emailCode ? { emailCode: result.emailCode } : {}) };
    },

    setEmail: async (req, ctx) => {
      const verification = checkedEmailVerification(req.verification);
      const result = await this.commands.execute(new SetEmailCommand({ ...context(ctx), userId: req.userId, email: req.email, verification }));
      return { details: toDetails(result.details), ...(result.verificationCode ? { verificationCode: result.verificationCode } : {}) };
    },

    verifyEmail: async (req, ctx) => {
      const details = await this.commands.execute(new VerifyEmailCommand({ ...context(ctx), userId: req.userId, code: req.verificationCode }));
      return { details: toDetails(details) };
    },

    addOTPEmail: async (req, ctx) => {
      const details = await this.commands.execute(new AddOtpEmailCommand({ ...context(ctx), userId: req.userId }));
      return { details: toDetails(details) };
    },

    removeOTPEmail: async (req, ctx) => {
      const details = await this.commands.execute(new RemoveOtpEmailCommand({ ...context(ctx), userId: req.userId }));
      return { details: toDetails(details) };
    },

    unlockUser: (req, ctx) => unlockUserMethod(this.commands)(req, ctx),

    deleteUser: async (req, ctx) => {
      const details = await this.commands.execute(new DeleteUserCommand({ ...context(ctx), userId: req.userId }));
      // Once the read model has dropped the user, the embedded database's files forget its rows
      // too (scrubFreedSpace); a projection that lags past the wait is scrubbed by the next one.
      if (this.database?.kind === 'embedded') {
        await this.usersProjection?.settle('DeleteUser').catch(() => undefined);
        await scrubFreedSpace(this.database, ['projections', 'crypto']);
      }
      return { details: toDetails(details) };
    },

    // Called per request: `this.queries` is not assigned yet while the fields initialize.
    listUsers: (req, ctx) => listUsersMethod(this.queries, toProtoUser)(req, ctx),

    getUserByID: async (req, ctx) => {
      const view = await this.queries.execute(new GetUserByIdQuery({ userId: req.userId, caller: callerOf(ctx) }));
      return { details: toDetails(view.details), user: toProtoUser(view.user, view.details) };
    },

    listAuthenticationMethodTypes: async (req, ctx) => {
      const view = await this.queries.execute(new ListAuthMethodTypesQuery({ userId: req.userId, ...requestOf(ctx) }));
      return {
        details: {
          totalResult: BigInt(view.details.totalResult),
          processedSequence: BigInt(view.details.processedSequence),
          timestamp: timestampFromDate(view.details.timestamp),
        },
        authMethodTypes: view.types.map((type) => AuthenticationMethodType[type as keyof typeof AuthenticationMethodType]),
      };
    },
  };
}
