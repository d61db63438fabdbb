import { Inject, Injectable } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import type { HandlerContext } from '@connectrpc/connect';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { timestampDate, timestampFromDate, type Duration, type Timestamp } from '@bufbuild/protobuf/wkt';
import type { DetailsSchema } from '@zitadel/proto/zitadel/object/v2/object_pb.js';
import type { RequestChallenges } from '@zitadel/proto/zitadel/session/v2/challenge_pb.js';
import type { SessionSchema, UserAgent, UserAgentSchema } from '@zitadel/proto/zitadel/session/v2/session_pb.js';
import type { Checks, ListSessionsRequest } from '@zitadel/proto/zitadel/session/v2/session_service_pb.js';
import { TimestampQueryMethod } from '@zitadel/proto/zitadel/object_pb.js';
import { callerOf, clientAddressOf, commandContextOf } from './transport/caller-context.js';
import type { SessionServiceImpl } from './transport/tokens.js';
import { invalidArgument } from '#errors';
import type { ObjectDetails } from '#kernel';
import { CreateSessionCommand } from '#session';
import { DeleteSessionCommand } from '#session';
import { SessionErrorId, unimplemented } from '#session';
import { GetSessionQuery, type SessionView } from '#session';
import type { SessionChangeResult, SessionChanges } from '#session';
import { SetSessionCommand } from '#session';
import { ListSessionsQuery, type ListedSession, type SessionFilter, type TimestampMethod } from '#projections/sessions';
import type { SessionUserAgent } from '#session';

/** Sequence 0 is a session that does not exist: no change date, as ZITADEL's DomainToDetailsPb leaves a zero date out. */
const toDetails = (details: ObjectDetails): MessageInitShape<typeof DetailsSchema> => ({
  sequence: BigInt(details.sequence),
  ...(details.sequence > 0 ? { changeDate: timestampFromDate(details.changeDate) } : {}),
  resourceOwner: details.resourceOwner,
});

const context = commandContextOf;

const durationMs = (duration: Duration) => Number(duration.seconds) * 1000 + Math.floor(duration.nanos / 1_000_000);

/**
 * The proto's checks, challenges, lifetime and metadata → SessionChanges. This service
 * implements the user and OTP Email parts; any other check or challenge (password, WebAuthN,
 * IdP intent, TOTP, OTP SMS) is refused with Unimplemented `SESSION-Unimpl` rather than
 * silently ignored. Metadata passes as it is (an empty value removes the key). An OTP Email delivery type this code does
 * not know is Unimplemented `SESSION-k3ng0`, as in ZITADEL.
 */
export function toSessionChanges(
  checks: Checks | undefined,
  challenges: RequestChallenges | undefined,
  lifetime: Duration | undefined,
  metadata: { [key: string]: Uint8Array },
): SessionChanges {
  if (checks && (checks.password || checks.webAuthN || checks.idpIntent || checks.totp || checks.otpSms)) throw unimplemented();
  if (challenges && (challenges.webAuthN || challenges.otpSms)) throw unimplemented();
  const changes: SessionChanges = {};
  if (Object.keys(metadata).length > 0) changes.metadata = metadata;
  if (checks?.user || checks?.otpEmail) {
    changes.checks = {};
    if (checks.user) {
      const search = checks.user.search;
      if (search.case === 'userId') changes.checks.user = { userId: search.value };
      else if (search.case === 'loginName') changes.checks.user = { loginName: search.value };
      else throw invalidArgument(SessionErrorId.UserMissing, 'Errors.User.UserIDMissing');
    }
    if (checks.otpEmail) changes.checks.otpEmail = { code: checks.otpEmail.code };
  }
  if (challenges?.otpEmail) {
    const delivery = challenges.otpEmail.deliveryType;
    switch (delivery.case) {
      case 'sendCode':
        changes.challenges = {
          otpEmail: delivery.value.urlTemplate !== undefined ? { kind: 'send', urlTemplate: delivery.value.urlTemplate } : { kind: 'send' },
        };
        break;
      case 'returnCode':
        changes.challenges = { otpEmail: { kind: 'return' } };
        break;
      case undefined:
        // "if no delivery_type is specified, an email is sent with the default url"
        changes.challenges = { otpEmail: { kind: 'send' } };
        break;
      default:
        throw unimplemented(SessionErrorId.UnknownDelivery);
    }
  }
  if (lifetime) changes.lifetimeMs = durationMs(lifetime);
  return changes;
}

const TIMESTAMP_METHODS: Record<TimestampQueryMethod, TimestampMethod> = {
  [TimestampQueryMethod.EQUALS]: 'equals',
  [TimestampQueryMethod.GREATER]: 'greater',
  [TimestampQueryMethod.GREATER_OR_EQUALS]: 'greaterOrEquals',
  [TimestampQueryMethod.LESS]: 'less',
  [TimestampQueryMethod.LESS_OR_EQUALS]: 'lessOrEquals',
};

/** Timestamp's own range (years 1 to 9999); outside it a date cannot be compared in SQL: InvalidArgument `SESSION-QryTs`. */
function queryableDate(timestamp: Timestamp): Date {
  const date = timestampDate(timestamp);
  const year = date.getUTCFullYear();
  if (Number.isNaN(date.getTime()) || year < 1 || year > 9999) throw invalidArgument('SESSION-QryTs', 'List.Query.Invalid');
  return date;
}

/**
 * zitadel.session.v2.SearchQuery → SessionFilter, as ZITADEL's sessionQueryToQuery: a creator
 * query without an id means the caller; one with an empty id is InvalidArgument
 * `GRPC-x8n24uh`. A user agent query needs a fingerprint id (ZITADEL would take the calling
 * user agent's, which an API call here never has): without one, or with an empty one,
 * InvalidArgument `GRPC-x8n23uh`. Anything else: `GRPC-Sfefs`.
 */
export function toSessionFilter(query: ListSessionsRequest['queries'][number], callerId: string): SessionFilter {
  const q = query.query;
  switch (q.case) {
    case 'idsQuery':
      return { ids: q.value.ids };
    case 'userIdQuery':
      return { userId: q.value.id };
    case 'creationDateQuery':
      return {
        // A missing timestamp is Go's zero Timestamp: the epoch.
        creationDate: q.value.creationDate ? queryableDate(q.value.creationDate) : new Date(0),
        // A method this code does not know compares as EQUALS (ZITADEL's map lookup gives its zero value).
        method: TIMESTAMP_METHODS[q.value.method] ?? 'equals',
      };
    case 'creatorQuery':
      if (q.value.id === undefined) return { creator: callerId };
      if (q.value.id !== '') return { creator: q.value.id };
      throw invalidArgument('GRPC-x8n24uh', 'List.Query.Invalid');
    case 'userAgentQuery':
      if (q.value.fingerprintId) return { fingerprintId: q.value.fingerprintId };
      throw invalidArgument('GRPC-x8n23uh', 'List.Query.Invalid');
    default:
      throw invalidArgument('GRPC-Sfefs', 'List.Query.Invalid');
  }
}

const toChallenges = (result: SessionChangeResult) => (result.challenges?.otpEmail !== undefined ? { challenges: { otpEmail: result.challenges.otpEmail } } : {});

/** zitadel.session.v2.UserAgent → the domain's (ZITADEL's userAgentToCommand); absent stays absent. */
export function fromProtoUserAgent(agent: UserAgent | undefined): SessionUserAgent | undefined {
  if (!agent) return undefined;
  const header = Object.fromEntries(Object.entries(agent.header).map(([name, values]) => [name, [...values.values]]));
  return {
    ...(agent.fingerprintId !== undefined ? { fingerprintId: agent.fingerprintId } : {}),
    ...(agent.ip !== undefined ? { ip: agent.ip } : {}),
    ...(agent.description !== undefined ? { description: agent.description } : {}),
    ...(Object.keys(header).length > 0 ? { header } : {}),
  };
}

/** The domain's user agent → zitadel.session.v2.UserAgent (ZITADEL's userAgentToPb). */
export function toProtoUserAgent(agent: SessionUserAgent): MessageInitShape<typeof UserAgentSchema> {
  return {
    ...(agent.fingerprintId ? { fingerprintId: agent.fingerprintId } : {}),
    ...(agent.ip ? { ip: agent.ip } : {}),
    ...(agent.description ? { description: agent.description } : {}),
    header: Object.fromEntries(Object.entries(agent.header ?? {}).map(([name, values]) => [name, { values }])),
  };
}

/** SessionView (GetSession) or a listed session (ListSessions) → zitadel.session.v2.Session. */
export function toProtoSession(view: SessionView | ListedSession): MessageInitShape<typeof SessionSchema> {
  const user = view.factors.user;
  return {
    id: view.id,
    creationDate: timestampFromDate(view.creationDate),
    changeDate: timestampFromDate(view.changeDate),
    sequence: BigInt(view.sequence),
    factors: {
      ...(user
        ? {
            user: {
              verifiedAt: timestampFromDate(user.verifiedAt),
              id: user.id,
              loginName: user.loginName,
              displayName: user.displayName,
              organizationId: user.organizationId,
            },
          }
        : {}),
      ...(view.factors.otpEmail ? { otpEmail: { verifiedAt: timestampFromDate(view.factors.otpEmail.verifiedAt) } } : {}),
    },
    ...(view.userAgent ? { userAgent: toProtoUserAgent(view.userAgent) } : {}),
    ...(view.expirationDate ? { expirationDate: timestampFromDate(view.expirationDate) } : {}),
    metadata: view.metadata,
  };
}

/**
 * zitadel.session.v2.SessionService: each method turns the request into a command or query on
 * the buses and the result into the response. Everything else lives in the handlers.
 */
@Injectable()
export class SessionServiceImplementation {
  constructor(
    @Inject(CommandBus) private readonly commands: CommandBus,
    @Inject(QueryBus) private readonly queries: QueryBus,
  ) {}

  readonly impl: SessionServiceImpl = {
    createSession: async (req, ctx) => {
      const changes = toSessionChanges(req.checks, req.challenges, req.lifetime, req.metadata);
      const userAgent = fromProtoUserAgent(req.userAgent);
      const clientIp = clientAddressOf(ctx);
      const result = await this.commands.execute(
        new CreateSessionCommand({ ...context(ctx), changes, ...(userAgent ? { userAgent } : {}), ...(clientIp ? { clientIp } : {}) }),
      );
      return { details: toDetails(result.details), sessionId: result.sessionId, sessionToken: result.sessionToken, ...toChallenges(result) };
    },

    // `sessionToken` on SetSession is deprecated and ignored, as in ZITADEL.
    setSession: async (req, ctx) => {
      const changes = toSessionChanges(req.checks, req.challenges, req.lifetime, req.metadata);
      const result = await this.commands.execute(new SetSessionCommand({ ...context(ctx), sessionId: req.sessionId, changes }));
      return { details: toDetails(result.details), sessionToken: result.sessionToken, ...toChallenges(result) };
    },

    getSession: async (req, ctx) => {
      const view = await this.queries.execute(
        new GetSessionQuery({ caller: callerOf(ctx), sessionId: req.sessionId, ...(req.sessionToken ? { sessionToken: req.sessionToken } : {}) }),
      );
      return { session: toProtoSession(view) };
    },

    listSessions: async (req, ctx) => {
      const caller = callerOf(ctx);
      const offset = req.query?.offset ?? 0n;
      // OFFSET is a signed 64-bit integer and a JavaScript number exact only to 2^53 (as ListUsers).
      if (offset > BigInt(Number.MAX_SAFE_INTEGER)) throw invalidArgument('QUERY-OffRg', 'Errors.Query.OffsetTooLarge');
      const view = await this.queries.execute(
        new ListSessionsQuery({
          caller,
          filters: req.queries.map((query) => toSessionFilter(query, caller.userId)),
          offset: Number(offset),
          limit: req.query?.limit ?? 0,
          asc: req.query?.asc ?? false,
        }),
      );
      return {
        details: {
          totalResult: BigInt(view.details.totalResult),
          processedSequence: BigInt(view.details.processedSequence),
          timestamp: timestampFromDate(view.details.timestamp),
        },
        sessions: view.sessions.map(toProtoSession),
      };
    },

    deleteSession: async (req, ctx) => {
      const details = await this.commands.execute(
        new DeleteSessionCommand({ ...context(ctx), sessionId: req.sessionId, ...(req.sessionToken ? { sessionToken: req.sessionToken } : {}) }),
      );
      return { details: toDetails(details) };
    },
  };
}
