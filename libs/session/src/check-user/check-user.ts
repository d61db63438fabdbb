import { failedPrecondition, notFound } from '#errors';
import type { UserState } from '#user';
import { SessionEventType, type SessionUserChecked } from '../events.js';
import { SessionErrorId, userChangeNotPossible } from '../errors.js';
import type { SessionState } from '../session-state.js';

/**
 * `checks.user`: the user must exist (else NotFound `SESSION-UsrNf`) and be active. ZITADEL
 * refuses every user whose state is not "enabled" (active or initial) with FailedPrecondition
 * `SESSION-Gj4ko` `Errors.User.NotActive`; a LOCKED user is not enabled, so a locked user
 * cannot even start a session until an administrator unlocks them (our users have no other
 * inactive state yet). A session keeps its user: checking another one is InvalidArgument
 * `SESSION-UsrChg`; checking the same user again renews `checkedAt`.
 */
export function decideUserCheck(session: SessionState, user: UserState, input: { userId: string; now: Date }): SessionUserChecked {
  if (!user.exists) throw notFound(SessionErrorId.UserNotFound, 'Errors.User.NotFound');
  if (session.user && session.user.id !== input.userId) throw userChangeNotPossible();
  if (user.locked) throw failedPrecondition(SessionErrorId.UserNotActive, 'Errors.User.NotActive');
  return {
    type: SessionEventType.UserChecked,
    data: { userId: input.userId, orgId: user.orgId!, loginName: user.username ?? '', checkedAt: input.now.toISOString() },
  };
}
