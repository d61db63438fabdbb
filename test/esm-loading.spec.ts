import { describe, expect, it } from '@jest/globals';
import { create, toJson } from '@bufbuild/protobuf';
import { getOption } from '@bufbuild/protobuf';
import { http } from '@zitadel/proto/google/api/annotations_pb.js';
import {
  AddOTPEmailResponseSchema,
  UserService,
} from '@zitadel/proto/zitadel/user/v2/user_service_pb.js';

// The project is ESM because @zitadel/proto's CommonJS build cannot be required
// (docs/decisions.md). These assertions fail if that loading path ever breaks.
describe('ESM-only packages load under jest', () => {
  it('imports the v2 UserService descriptor with its REST mapping', () => {
    expect(UserService.typeName).toBe('zitadel.user.v2.UserService');
    const rule = getOption(UserService.method.addOTPEmail, http);
    expect(rule.pattern.case).toBe('post');
    expect(rule.pattern.value).toBe('/v2/users/{user_id}/otp_email');
    expect(rule.body).toBe('*');
  });

  it('serializes uint64 as a JSON string, as protojson does', () => {
    const msg = create(AddOTPEmailResponseSchema, {
      details: { sequence: 7n, resourceOwner: 'org-1' },
    });
    expect(toJson(AddOTPEmailResponseSchema, msg)).toEqual({
      details: { sequence: '7', resourceOwner: 'org-1' },
    });
  });
});
