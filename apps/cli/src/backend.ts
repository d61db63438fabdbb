import type { Role } from '#access';
import { isDomainError } from '#errors';
import type { UsernameSweep } from '#user';

/** What the CLI's commands need, wherever the work is done (the database, or the server). */
export interface AdminBackend {
  createOrg(name: string): Promise<{ orgId: string }>;
  createMachineUser(request: { name: string; role: Role; orgId?: string; username?: string }): Promise<{ userId: string; token: string }>;
  /** A machine user's tokens: ids and times, never a token. */
  listTokens(userId: string): Promise<{ tokens: { tokenId: string; createdAt: string; expiresAt?: string }[] }>;
  revokeToken(userId: string, tokenId: string): Promise<unknown>;
  removeRole(userId: string, role: Role, orgId?: string): Promise<unknown>;
  sweepUsernames(): Promise<UsernameSweep>;
  /** Deletes the user if needed, destroys its data key, rewrites its plain personal data in place. */
  eraseUser(userId: string): Promise<{ rewritten: number; moved: number }>;
  close(): Promise<void>;
}

/** Options every command takes: where the server is, and which token to use. */
export interface ConnectionOptions {
  server?: string;
  token?: string;
}

/** A failure the operator can act on: printed as it is, exit code 1. */
export class CliError extends Error {
  override readonly name = 'CliError';
}

export interface CliOutput {
  out(line: string): void;
  err(line: string): void;
}

/** One line for the operator; never includes a token. */
export function describeFailure(err: unknown): string {
  if (err instanceof CliError) return err.message;
  if (isDomainError(err)) return err.statusMessage;
  return `unexpected error: ${err instanceof Error ? err.message : String(err)}`;
}
