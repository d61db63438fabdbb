import type { ObjectDetails } from '#kernel';
import { GENDERS, type Gender } from '#user/events';
import type { UserRow } from './schema.js';

/** Factor types as ZITADEL's AuthenticationMethodType names them, without the prefix. */
export const AuthMethodType = {
  Password: 'PASSWORD',
  Passkey: 'PASSKEY',
  Idp: 'IDP',
  Totp: 'TOTP',
  U2f: 'U2F',
  OtpSms: 'OTP_SMS',
  OtpEmail: 'OTP_EMAIL',
} as const;
export type AuthMethodType = (typeof AuthMethodType)[keyof typeof AuthMethodType];

/** The enum's order: the order of ListAuthenticationMethodTypes' answer. */
const AUTH_METHOD_ORDER: readonly string[] = Object.values(AuthMethodType);

export function compareAuthMethodTypes(a: string, b: string): number {
  const rank = (t: string) => {
    const i = AUTH_METHOD_ORDER.indexOf(t);
    return i < 0 ? AUTH_METHOD_ORDER.length : i;
  };
  return rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);
}

/** The user as the read model shows it. Absent values are left out. */
export interface ProjectedUser {
  id: string;
  /** The organization that owns the user (resource owner). */
  orgId: string;
  username: string;
  kind: 'human' | 'machine';
  state: 'active' | 'locked';
  givenName?: string;
  familyName?: string;
  displayName?: string;
  nickName?: string;
  preferredLanguage?: string;
  /** Absent: unspecified. */
  gender?: Gender;
  /** The current address, verified or not (humans). */
  email?: string;
  emailVerified: boolean;
  /** OTP Email is set up (a READY factor). */
  otpEmail: boolean;
  machineName?: string;
  machineDescription?: string;
  /** Sequence of the last event reduced for the user. */
  sequence: number;
  /** Time of the last event reduced for the user. */
  changeDate: Date;
  /** Time of the user's first event (user.human.added / user.machine.added). */
  creationDate: Date;
}

/** GetUserByID: details on read come from the last event reduced for the user. */
export interface UserView {
  details: ObjectDetails;
  user: ProjectedUser;
}

/** zitadel.object.v2.ListDetails in domain terms. */
export interface ListDetails {
  totalResult: number;
  /** The sequence of the last event reduced for the user (see docs in list-auth-method-types.query.ts). */
  processedSequence: number;
  timestamp: Date;
}

export interface AuthMethodTypesView {
  details: ListDetails;
  /** READY factors, e.g. 'OTP_EMAIL', in AuthenticationMethodType order. */
  types: string[];
}

export function toProjectedUser(row: UserRow): ProjectedUser {
  const optional = (key: keyof ProjectedUser, value: string | null) => (value === null ? {} : { [key]: value });
  return {
    id: row.id,
    orgId: row.org_id,
    username: row.username,
    kind: row.kind as ProjectedUser['kind'],
    state: row.state as ProjectedUser['state'],
    ...optional('givenName', row.given_name),
    ...optional('familyName', row.family_name),
    ...optional('displayName', row.display_name),
    ...optional('nickName', row.nick_name),
    ...optional('preferredLanguage', row.preferred_language),
    // A value this code does not know (from a later release's events) reads as unspecified.
    ...((GENDERS as readonly (string | null)[]).includes(row.gender) ? { gender: row.gender as Gender } : {}),
    ...optional('email', row.email),
    emailVerified: row.email_verified,
    otpEmail: row.otp_email,
    ...optional('machineName', row.machine_name),
    ...optional('machineDescription', row.machine_description),
    sequence: Number(row.sequence),
    changeDate: row.change_date,
    creationDate: row.creation_date,
  };
}

export function detailsOf(row: UserRow): ObjectDetails {
  return { sequence: Number(row.sequence), changeDate: row.change_date, resourceOwner: row.org_id, creationDate: row.creation_date };
}
