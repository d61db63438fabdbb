import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Role } from '#access';
import type { UsernameSweep } from '#user';
import { CliError, type AdminBackend } from './backend.js';

export const ADMIN_TOKEN_FILE = 'admin.pat';

/** The token from --token, else the server's DATA_DIR/admin.pat. */
export async function resolveToken(token: string | undefined, dataDir: string): Promise<string> {
  if (token?.trim()) return token.trim();
  const path = resolve(join(dataDir, ADMIN_TOKEN_FILE));
  try {
    const fromFile = (await readFile(path, 'utf8')).trim();
    if (fromFile) return fromFile;
    throw new CliError(`no admin token: ${path} is empty; pass --token <token>`);
  } catch (err) {
    if (err instanceof CliError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new CliError(
        `no admin token: ${path} does not exist. Run the CLI with the server's DATA_DIR (the server writes the admin token there at ` +
          'first start), or pass --token <token>',
      );
    }
    throw new CliError(`cannot read the admin token from ${path}: ${(err as Error).message}`);
  }
}

/**
 * The admin routes of a running server (embedded mode: the server process owns the data, so
 * the CLI asks it). Errors become one clear line: the server not running, the token refused,
 * or the server's own message.
 */
export class HttpBackend implements AdminBackend {
  constructor(
    private readonly server: string,
    private readonly token: () => Promise<string>,
  ) {}

  createOrg(name: string): Promise<{ orgId: string }> {
    return this.post('/admin/v1/orgs', { name });
  }

  createMachineUser(request: { name: string; role: Role; orgId?: string; username?: string }): Promise<{ userId: string; token: string }> {
    return this.post('/admin/v1/machine-users', request);
  }

  listTokens(userId: string): Promise<{ tokens: { tokenId: string; createdAt: string; expiresAt?: string }[] }> {
    return callAdmin(this.server, this.token, 'GET', `/admin/v1/machine-users/${encodeURIComponent(userId)}/tokens`);
  }

  revokeToken(userId: string, tokenId: string): Promise<unknown> {
    return callAdmin(this.server, this.token, 'DELETE', `/admin/v1/machine-users/${encodeURIComponent(userId)}/tokens/${encodeURIComponent(tokenId)}`);
  }

  async eraseUser(userId: string): Promise<{ rewritten: number; moved: number }> {
    return (await callAdmin(this.server, this.token, 'POST', `/admin/v1/users/${encodeURIComponent(userId)}/erase`)) as { rewritten: number; moved: number };
  }

  removeRole(userId: string, role: Role, orgId?: string): Promise<unknown> {
    const query = orgId ? `?orgId=${encodeURIComponent(orgId)}` : '';
    return callAdmin(this.server, this.token, 'DELETE', `/admin/v1/machine-users/${encodeURIComponent(userId)}/roles/${encodeURIComponent(role)}${query}`);
  }

  sweepUsernames(): Promise<UsernameSweep> {
    return this.post('/admin/v1/usernames/sweep', {});
  }

  async close(): Promise<void> {}

  private post<T>(path: string, body: unknown): Promise<T> {
    return callAdmin<T>(this.server, this.token, 'POST', path, body);
  }
}

/** The server answered with an error status: the message is the server's, `status` tells which. */
export class ServerRefusal extends CliError {
  constructor(
    message: string,
    readonly status: number,
    readonly payload: Record<string, unknown> | undefined,
  ) {
    super(message);
  }
}

/**
 * One call to the admin routes, errors turned into one clear line: the server not running,
 * the token refused, or the server's own message (ServerRefusal, with the HTTP status).
 */
export async function callAdmin<T>(
  server: string,
  token: () => Promise<string>,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  body?: unknown,
  options: { timeoutMs?: number } = {},
): Promise<T> {
  let url: URL;
  try {
    url = new URL(path, server);
  } catch {
    throw new CliError(`--server: "${server}" is not a URL (expected e.g. http://localhost:8080)`);
  }
  const bearer = await token();
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: {
        authorization: `Bearer ${bearer}`,
        accept: 'application/json',
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
    });
  } catch (err) {
    if ((err as Error).name === 'TimeoutError') {
      throw new CliError(`the server at ${server} did not answer ${method} ${path} within ${Math.round((options.timeoutMs ?? 30_000) / 1000)} s`);
    }
    const cause = (err as { cause?: { code?: string; message?: string; errors?: { code?: string }[] } }).cause;
    const reason = cause?.code ?? cause?.errors?.find((e) => e.code)?.code ?? cause?.message ?? (err as Error).message;
    throw new CliError(
      `the server at ${server} is not reachable (${reason}). Start it first (npm start): it owns the embedded ` +
        'database in DATA_DIR, and the CLI works through its admin routes. Or pass --server <url> of a running server; ' +
        'with DATABASE_URL set, the CLI works on the database directly.',
    );
  }
  const text = await res.text();
  let payload: Record<string, unknown> | undefined;
  try {
    payload = JSON.parse(text) as Record<string, unknown>;
  } catch {
    payload = undefined;
  }
  if (res.ok && payload) return payload as T;
  const message = typeof payload?.message === 'string' ? payload.message : `HTTP ${res.status}`;
  if (res.status === 401) {
    throw new ServerRefusal(`the server refused the token: ${message}. Use the admin token from the server's DATA_DIR/admin.pat, or --token`, 401, payload);
  }
  // Every 404 of the admin routes carries an ErrorDetail; one without is a route the server lacks.
  if (res.status === 404 && !(Array.isArray(payload?.details) && payload.details.length > 0)) {
    throw new ServerRefusal(`the server at ${server} has no admin routes (${message}): is it this service, and up to date?`, 404, payload);
  }
  throw new ServerRefusal(`the server refused: ${message}`, res.status, payload);
}
