import { mkdir, open, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { EventStore } from '#eventstore';
import type { Logger } from '#logging';
import { machineUserEvents } from '#org';
import { patAddedEvent } from '#org';
import { orgAddedEvent } from '#org';
import { INSTANCE_STREAM, orgStream, OrgEventType } from '#org';
import { newId } from '#kernel';
import { foldInstance, type Instance } from '#org';
import { foldOrg } from '#org';
import { claimUsername } from '#user';
import { eventMetadata, type CommandContext } from '#kernel';
import { decideOnStream, newCorrelationId, readStreamOf } from '#kernel';
import { userStream, type UserEvent } from '#user';
import { foldUser } from '#user';
import type { Caller } from '#access';
import { issuePat } from '#org';

export const ADMIN_PAT_FILE = 'admin.pat';
export const ADMIN_USERNAME = 'admin';
export const DEFAULT_ORG_NAME = 'Default';
export const DEFAULT_INSTANCE_NAME = 'default';
export const SYSTEM_USER_ID = 'system';

/**
 * The caller for work nobody asked for over the API: start-up, and the operators' CLI on the
 * database. It acts in the instance's default organization with IAM_OWNER; its events name
 * "system" as the editor.
 */
export function systemCaller(instance: Pick<Instance, 'instanceId' | 'defaultOrgId'>, userId: string = SYSTEM_USER_ID): Caller {
  return { userId, orgId: instance.defaultOrgId, instanceId: instance.instanceId, kind: 'machine', roles: [{ role: 'IAM_OWNER' }] };
}

export class BootstrapError extends Error {
  override readonly name = 'BootstrapError';
}

export interface BootstrapOptions {
  store: EventStore;
  /** Where `admin.pat` goes (DATA_DIR). */
  dataDir: string;
  logger?: Logger;
  instanceName?: string;
}

export interface BootstrapResult {
  instance: Instance;
  /** This call created the instance (false: it existed, or another process won the race). */
  createdInstance: boolean;
  /** This call created the admin and wrote its token to this file. */
  adminTokenPath?: string;
}

/**
 * First start: when `instance-default` is empty, create the instance, the default
 * organization ("Default"), the machine user `admin` with IAM_OWNER on the whole instance, and
 * its personal access token, written once to `DATA_DIR/admin.pat` (mode 0600, never over an
 * existing file; the log names the path, never the token).
 *
 * Every step is idempotent and decided by the store, so that
 *   - two servers starting at once on one database create one instance: `instance.added`
 *     goes to an empty stream ('no_stream'), the loser reloads and follows the winner's plan;
 *   - a start that stopped half-way is finished by the next one: `instance.added` names the
 *     default organization and the admin's user id, and the later steps skip what exists.
 * The admin's user, role and token are one append: whoever appends it writes the file, so the
 * token reaches exactly one file. If the process dies between that append and the file, the
 * token is lost: create another admin with the CLI on the database (DATABASE_URL).
 *
 * Refuses to create the admin while `admin.pat` exists (it would belong to another instance or
 * an earlier data directory): a BootstrapError stops the start before the admin is written;
 * move the file away and start again, and the setup finishes.
 */
export async function bootstrapInstance(options: BootstrapOptions): Promise<BootstrapResult> {
  const { store, logger } = options;
  const correlationId = newCorrelationId();
  const plan: Instance = {
    instanceId: newId(),
    name: options.instanceName ?? DEFAULT_INSTANCE_NAME,
    defaultOrgId: newId(),
    adminUserId: newId(),
  };

  const decided = await decideOnStream(store, INSTANCE_STREAM, foldInstance, (state) => {
    if (state.instance) return { events: [], result: state.instance };
    const context: CommandContext = { caller: systemCaller(plan), correlationId };
    return {
      events: [{ type: OrgEventType.InstanceAdded, data: { ...plan }, metadata: eventMetadata(context, plan.instanceId) }],
      result: plan,
    };
  });
  const instance = decided.result;
  const createdInstance = decided.appended.length > 0;
  if (createdInstance) logger?.info({ instanceId: instance.instanceId }, 'instance created');
  const context: CommandContext = { caller: systemCaller(instance), correlationId };

  // The default organization.
  const org = await decideOnStream(store, orgStream(instance.defaultOrgId), foldOrg, (state) => ({
    events: state.exists ? [] : [orgAddedEvent(DEFAULT_ORG_NAME, eventMetadata(context, instance.defaultOrgId))],
    result: undefined,
  }));
  if (org.appended.length > 0) logger?.info({ orgId: instance.defaultOrgId }, 'default organization created');

  const adminTokenPath = await ensureAdmin(options, instance, context);
  return { instance, createdInstance, ...(adminTokenPath ? { adminTokenPath } : {}) };
}

async function ensureAdmin(options: BootstrapOptions, instance: Instance, context: CommandContext): Promise<string | undefined> {
  const { store, logger } = options;
  const userId = instance.adminUserId;
  if (!userId) return undefined; // an instance set up without a planned admin: nothing to finish
  const adminExists = async () => foldUser(await readStreamOf<UserEvent>(store, userStream(userId))).exists;
  if (await adminExists()) return undefined;

  const path = resolve(join(options.dataDir, ADMIN_PAT_FILE));
  if ((await fileExists(path)) && !(await adminExists())) {
    throw new BootstrapError(
      `${path} exists, but this instance has no admin yet: the file holds a token of another instance or an earlier ` +
        'data directory. Move it away and start again; the new admin token will be written there.',
    );
  }

  const metadata = eventMetadata(context, instance.defaultOrgId);
  await claimUsername(store, ADMIN_USERNAME, userId, metadata);
  const pat = issuePat(userId);
  const { appended } = await decideOnStream(store, userStream(userId), foldUser, (state) => ({
    events: state.exists
      ? []
      : [
          ...machineUserEvents(
            { username: ADMIN_USERNAME, name: 'Administrator', orgId: instance.defaultOrgId, roles: [{ role: 'IAM_OWNER' }] },
            metadata,
          ),
          patAddedEvent(pat, metadata),
        ],
    result: undefined,
  }));
  if (appended.length === 0) return undefined; // another process created the admin and writes the file

  await writeSecretFile(path, `${pat.token}\n`).catch((err: unknown) => {
    throw new BootstrapError(
      `the admin user ${userId} was created but its token could not be written to ${path}: ${(err as Error).message}. ` +
        'Create another IAM_OWNER machine user with the CLI on the database (DATABASE_URL).',
    );
  });
  logger?.info(
    { path, userId, tokenId: pat.tokenId },
    `admin user created; its personal access token was written to ${path} (mode 0600): keep it safe, it is not shown again`,
  );
  return path;
}

/** Creates `path` with mode 0600; fails if it exists (never overwrites). */
export async function writeSecretFile(path: string, content: string): Promise<void> {
  await mkdir(resolve(path, '..'), { recursive: true });
  const handle = await open(path, 'wx', 0o600);
  try {
    await handle.writeFile(content, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function fileExists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return false;
      throw err;
    },
  );
}
