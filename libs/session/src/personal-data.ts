import type { PersonalDataPolicy } from '#crypto';
import { SessionEventType } from './events.js';

const checkedUser = (data: Record<string, unknown>) => (typeof data['userId'] === 'string' ? data['userId'] : undefined);

/**
 * The personal data of session events, sealed under the checked user's data key: the login name
 * of a user check, and the user agent of a session whose user is checked in the same request
 * (CreateSession with `checks.user`). A session started without a user check keeps its user agent
 * as it is: there is nobody yet whose key could seal it.
 */
export const sessionPersonalData: Readonly<Record<string, PersonalDataPolicy>> = {
  [SessionEventType.UserChecked]: {
    fields: ['loginName'],
    erased: { loginName: '' },
    subject: (_stream, data) => checkedUser(data),
    namesBatchSubject: checkedUser,
  },
  [SessionEventType.Added]: {
    // The user agent: its description (`userAgent`), fingerprint, address and headers.
    fields: ['userAgent', 'fingerprintId', 'ip', 'header'],
    erased: {},
    subject: (_stream, _data, batchSubject) => batchSubject,
  },
};
