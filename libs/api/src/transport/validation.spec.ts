import { describe, expect, it } from '@jest/globals';
import { create, createFileRegistry, setExtension, type DescMessage } from '@bufbuild/protobuf';
import { DurationSchema, FieldDescriptorProto_Label, FieldDescriptorProto_Type, FieldOptionsSchema, FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import { FieldRulesSchema, rules, type FieldRules } from '@zitadel/proto/validate/validate_pb.js';
import { CreateSessionRequestSchema, SetSessionRequestSchema } from '@zitadel/proto/zitadel/session/v2/session_service_pb.js';
import { UserVerificationRequirement } from '@zitadel/proto/zitadel/session/v2/challenge_pb.js';
import { SetHumanEmailSchema } from '@zitadel/proto/zitadel/user/v2/email_pb.js';
import {
  AddHumanUserRequestSchema,
  AddOTPEmailRequestSchema,
  CreateUserRequestSchema,
  DeleteUserMetadataRequestSchema,
  ListUsersRequestSchema,
  SetEmailRequestSchema,
} from '@zitadel/proto/zitadel/user/v2/user_service_pb.js';
import { goCamelCase, goDuration, validateMessage } from './validation.js';

describe('validateMessage (PGV rules from the descriptors)', () => {
  it('accepts a valid request and reports string length like PGV, with the Go names', () => {
    expect(validateMessage(AddOTPEmailRequestSchema, create(AddOTPEmailRequestSchema, { userId: '123' }))).toBeUndefined();
    expect(validateMessage(AddOTPEmailRequestSchema, create(AddOTPEmailRequestSchema, { userId: 'x'.repeat(201) }))).toBe(
      'invalid AddOTPEmailRequest.UserId: value length must be between 1 and 200 runes, inclusive',
    );
    // proto3 scalars without presence are checked with their zero value
    expect(validateMessage(AddOTPEmailRequestSchema, create(AddOTPEmailRequestSchema))).toBe(
      'invalid AddOTPEmailRequest.UserId: value length must be between 1 and 200 runes, inclusive',
    );
    // runes, not UTF-16 units or bytes
    expect(validateMessage(AddOTPEmailRequestSchema, create(AddOTPEmailRequestSchema, { userId: '😀'.repeat(200) }))).toBeUndefined();
  });

  it('requires marked message fields and walks embedded messages with the "caused by" chain', () => {
    const noEmail = create(AddHumanUserRequestSchema, { profile: { givenName: 'Ada', familyName: 'Lovelace' } });
    expect(validateMessage(AddHumanUserRequestSchema, noEmail)).toBe('invalid AddHumanUserRequest.Email: value is required');

    const badEmail = create(AddHumanUserRequestSchema, {
      profile: { givenName: 'Ada', familyName: 'Lovelace' },
      email: { email: 'not-an-address' },
    });
    expect(validateMessage(AddHumanUserRequestSchema, badEmail)).toBe(
      "invalid AddHumanUserRequest.Email: embedded message failed validation | caused by: invalid SetHumanEmail.Email: value must be a valid email address | caused by: mail: missing '@' or angle-addr",
    );
    expect(validateMessage(SetHumanEmailSchema, create(SetHumanEmailSchema, { email: 'ada@example.com' }))).toBeUndefined();
    expect(validateMessage(SetHumanEmailSchema, create(SetHumanEmailSchema, { email: 'ada@exa_mple.com' }))).toMatch(
      /^invalid SetHumanEmail.Email: value must be a valid email address \| caused by: hostname parts can only contain/,
    );
  });

  it('checks oneof members only when set, and oneof "required"', () => {
    expect(validateMessage(SetEmailRequestSchema, create(SetEmailRequestSchema, { userId: 'u', email: 'a@b.ch' }))).toBeUndefined();
    const notVerified = create(SetEmailRequestSchema, { userId: 'u', email: 'a@b.ch', verification: { case: 'isVerified', value: false } });
    expect(validateMessage(SetEmailRequestSchema, notVerified)).toBe('invalid SetEmailRequest.IsVerified: value must equal true');
    // CreateUserRequest.user_type is a required oneof; nested types print as Go does (Outer_Inner)
    expect(validateMessage(CreateUserRequestSchema, create(CreateUserRequestSchema, { organizationId: 'o' }))).toBe(
      'invalid CreateUserRequest.UserType: value is required',
    );
    const human = create(CreateUserRequestSchema, { organizationId: 'o', userType: { case: 'human', value: {} } });
    expect(validateMessage(CreateUserRequestSchema, human)).toBe(
      'invalid CreateUserRequest.Human: embedded message failed validation | caused by: invalid CreateUserRequest_Human.Profile: value is required',
    );
  });

  it('checks proto3 optional fields only when present', () => {
    const withoutUserId = create(CreateUserRequestSchema, {
      organizationId: 'o',
      userType: { case: 'machine', value: { name: 'robot' } },
    });
    expect(validateMessage(CreateUserRequestSchema, withoutUserId)).toBeUndefined();
    const emptyUserId = create(CreateUserRequestSchema, { ...withoutUserId, userId: '' });
    expect(validateMessage(CreateUserRequestSchema, emptyUserId)).toBe('invalid CreateUserRequest.UserId: value length must be between 1 and 200 runes, inclusive');
  });

  it('checks repeated items with indexed names', () => {
    const req = create(DeleteUserMetadataRequestSchema, { userId: 'u', keys: ['a', ''] });
    expect(validateMessage(DeleteUserMetadataRequestSchema, req)).toBe(
      'invalid DeleteUserMetadataRequest.Keys[1]: value length must be between 1 and 200 runes, inclusive',
    );
  });

  it('checks Duration ranges and enum rules', () => {
    const zero = create(CreateSessionRequestSchema, { lifetime: create(DurationSchema, { seconds: 0n }) });
    expect(validateMessage(CreateSessionRequestSchema, zero)).toBe('invalid CreateSessionRequest.Lifetime: value must be greater than 0s');
    const ok = create(SetSessionRequestSchema, { sessionId: 's', lifetime: { seconds: 60n } });
    expect(validateMessage(SetSessionRequestSchema, ok)).toBeUndefined();
    const unspecified = create(CreateSessionRequestSchema, {
      challenges: { webAuthN: { domain: 'example.com', userVerificationRequirement: 0 } },
    });
    expect(validateMessage(CreateSessionRequestSchema, unspecified)).toBe(
      'invalid CreateSessionRequest.Challenges: embedded message failed validation | caused by: invalid RequestChallenges.WebAuthN: embedded message failed validation | caused by: invalid RequestChallenges_WebAuthN.UserVerificationRequirement: value must not be in list [0]',
    );
    const undefinedValue = create(CreateSessionRequestSchema, {
      challenges: { webAuthN: { domain: 'example.com', userVerificationRequirement: 99 as UserVerificationRequirement } },
    });
    expect(validateMessage(CreateSessionRequestSchema, undefinedValue)).toMatch(/UserVerificationRequirement: value must be one of the defined enum values$/);
  });

  it('walks repeated embedded messages (required oneof inside a query)', () => {
    const req = create(ListUsersRequestSchema, { queries: [{}] });
    expect(validateMessage(ListUsersRequestSchema, req)).toBe(
      'invalid ListUsersRequest.Queries[0]: embedded message failed validation | caused by: invalid SearchQuery.Query: value is required',
    );
  });

  it('names fields and durations as Go does', () => {
    expect(goCamelCase('user_id')).toBe('UserId');
    expect(goCamelCase('web_auth_n')).toBe('WebAuthN');
    expect(goCamelCase('otp_sms')).toBe('OtpSms');
    expect(goDuration(0n)).toBe('0s');
    expect(goDuration(1_500_000_000n)).toBe('1.5s');
    expect(goDuration(3_600_000_000_000n)).toBe('1h0m0s');
    expect(goDuration(300_000_000n)).toBe('300ms');
  });

  it('checks integer ranges (no such rule on these services yet: a descriptor built for the test)', () => {
    const schema = messageWithRule(FieldDescriptorProto_Type.UINT32, { type: { case: 'uint32', value: { gt: 0, lte: 1000 } } });
    const msg = (n: number) => ({ $typeName: 'test.Limits', n }) as never;
    expect(validateMessage(schema, msg(1))).toBeUndefined();
    expect(validateMessage(schema, msg(1000))).toBeUndefined();
    expect(validateMessage(schema, msg(0))).toBe('invalid Limits.N: value must be inside range (0, 1000]');
    expect(validateMessage(schema, msg(1001))).toBe('invalid Limits.N: value must be inside range (0, 1000]');

    const int64 = messageWithRule(FieldDescriptorProto_Type.INT64, { type: { case: 'int64', value: { gte: 10n } } });
    expect(validateMessage(int64, { $typeName: 'test.Limits', n: 9n } as never)).toBe('invalid Limits.N: value must be greater than or equal to 10');
    const outside = messageWithRule(FieldDescriptorProto_Type.INT32, { type: { case: 'int32', value: { lt: 0, gt: 10 } } });
    expect(validateMessage(outside, msg(5))).toBe('invalid Limits.N: value must be outside range [0, 10]');
    expect(validateMessage(outside, msg(11))).toBeUndefined();
    const listed = messageWithRule(FieldDescriptorProto_Type.UINT32, { type: { case: 'uint32', value: { in: [1, 2] } } });
    expect(validateMessage(listed, msg(3))).toBe('invalid Limits.N: value must be in list [1 2]');
  });
});

/** A message `test.Limits { <type> n = 1 [(validate.rules) = ...]; }` from a hand-made descriptor. */
function messageWithRule(type: FieldDescriptorProto_Type, fieldRules: Parameters<typeof create<typeof FieldRulesSchema>>[1]): DescMessage {
  const options = create(FieldOptionsSchema);
  setExtension(options, rules, create(FieldRulesSchema, fieldRules) as FieldRules);
  const file = create(FileDescriptorProtoSchema, {
    name: 'test/limits.proto',
    package: 'test',
    syntax: 'proto3',
    messageType: [{ name: 'Limits', field: [{ name: 'n', number: 1, type, label: FieldDescriptorProto_Label.OPTIONAL, jsonName: 'n', options }] }],
  });
  return createFileRegistry(file, () => undefined).getMessage('test.Limits')!;
}
