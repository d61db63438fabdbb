import type { SessionUserAgent } from '#session/events';
import type { SessionRow } from './schema.js';

/** zitadel.session.v2.Session as the read model shows it (the shape of GetSession's view). */
export interface ListedSession {
  id: string;
  creationDate: Date;
  changeDate: Date;
  sequence: number;
  factors: {
    user?: { verifiedAt: Date; id: string; loginName: string; displayName: string; organizationId: string };
    otpEmail?: { verifiedAt: Date };
  };
  userAgent?: SessionUserAgent;
  expirationDate?: Date;
  /** Keys to raw values. */
  metadata: Record<string, Uint8Array>;
}

/** zitadel.object.v2.ListDetails in read-model terms. */
export interface SessionListDetails {
  totalResult: number;
  processedSequence: number;
  timestamp: Date;
}

export interface SessionListView {
  details: SessionListDetails;
  sessions: ListedSession[];
}

/** The user's current names, from the users read model (absent: the names of the check). */
export interface UserNames {
  loginName: string;
  displayName: string;
}

const parsed = <T>(json: string | null, fallback: T): T => {
  if (json === null) return fallback;
  try {
    return JSON.parse(json) as T;
  } catch {
    return fallback;
  }
};

/** A row as zitadel.session.v2.Session: the user factor with the user's current names, as ZITADEL joins them. */
export function toListedSession(row: SessionRow, names: UserNames | undefined): ListedSession {
  const header = parsed<Record<string, string[]> | undefined>(row.user_agent_header, undefined);
  const userAgent: SessionUserAgent = {
    ...(row.user_agent_fingerprint_id !== null ? { fingerprintId: row.user_agent_fingerprint_id } : {}),
    ...(row.user_agent_ip !== null ? { ip: row.user_agent_ip } : {}),
    ...(row.user_agent_description !== null ? { description: row.user_agent_description } : {}),
    ...(header && Object.keys(header).length > 0 ? { header } : {}),
  };
  const factors: ListedSession['factors'] = {};
  if (row.user_id !== null && row.user_checked_at !== null) {
    factors.user = {
      verifiedAt: new Date(row.user_checked_at),
      id: row.user_id,
      loginName: names?.loginName ?? row.login_name ?? '',
      displayName: names?.displayName ?? '',
      organizationId: row.user_org_id ?? '',
    };
  }
  if (row.otp_email_checked_at !== null) factors.otpEmail = { verifiedAt: new Date(row.otp_email_checked_at) };
  const metadata = parsed<Record<string, string>>(row.metadata, {});
  return {
    id: row.id,
    creationDate: new Date(row.creation_date),
    changeDate: new Date(row.change_date),
    sequence: Number(row.sequence),
    factors,
    ...(Object.keys(userAgent).length > 0 ? { userAgent } : {}),
    ...(row.expiration !== null ? { expirationDate: new Date(row.expiration) } : {}),
    metadata: Object.fromEntries(Object.entries(metadata).map(([key, value]) => [key, new Uint8Array(Buffer.from(value, 'base64'))])),
  };
}
