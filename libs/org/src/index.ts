export { OrgModule } from './org.module.js';
export { newId, IdGenerator } from './ids.js';
export * from './events.js';
export { foldInstance, readInstance, InstanceCache, type Instance, type InstanceState } from './instance.js';
export { foldOrg, orgExists, type OrgState } from './org-state.js';
export { claimUsername, releaseUsername, usernameHolder, assertUsername, MAX_USERNAME_LENGTH } from './usernames.js';
export { CreateOrgCommand, createOrg, type CreateOrgInput, type CreateOrgResult } from './create-org.js';
export {
  AddMachineUserCommand,
  addMachineUser,
  INSTANCE_ROLES,
  type AddMachineUserInput,
  type AddMachineUserResult,
} from './add-machine-user.js';
export {
  AddPersonalAccessTokenCommand,
  addPersonalAccessToken,
  type AddPersonalAccessTokenInput,
  type AddPersonalAccessTokenResult,
} from './add-personal-access-token.js';
