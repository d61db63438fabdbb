import type { PersonalDataPolicy } from '#crypto';
import { UserEventType, userIdOfStream } from './events.js';
import { UsernameEventType } from './usernames.js';

const ofUserStream = (stream: string) => userIdOfStream(stream);
const policy = (fields: string[], erased: PersonalDataPolicy['erased']): PersonalDataPolicy => ({ fields, erased, subject: ofUserStream });

/**
 * The personal data of the user's events and of username claims: what the store seals under the
 * user's data key (withPersonalDataSealing) and what an erased event reads as. Usernames count
 * (they are often the address itself); organization ids, codes (sealed under the service key
 * already), hashes and dates do not.
 */
export const userPersonalData: Readonly<Record<string, PersonalDataPolicy>> = {
  [UserEventType.HumanAdded]: policy(['username', 'profile', 'email'], { username: '', profile: { givenName: '', familyName: '', displayName: '' }, email: '' }),
  [UserEventType.MachineAdded]: policy(['username', 'name', 'description'], { username: '', name: '' }),
  [UserEventType.EmailChanged]: policy(['email'], { email: '' }),
  [UserEventType.EmailVerified]: policy(['email'], { email: '' }),
  [UserEventType.RegistrationAbandoned]: policy(['username'], { username: '' }),
  [UsernameEventType.UsernameClaimed]: {
    fields: ['username'],
    erased: { username: '' },
    subject: (_stream, data) => (typeof data['userId'] === 'string' ? data['userId'] : undefined),
  },
};
