/**
 * The HTTP + SQL floor for `npm run bench:api`: the least a service can do for AddOTPEmail.
 * A plain node:http server (no framework, no validation, no authentication beyond the header's
 * presence) answering `POST /v2/users/{userId}/otp_email` with, in ONE transaction on a pg
 * pool: the read of the user's whole stream, the insert of one `user.otp.email.added` event
 * and the upsert of the event's read-model row in a `user_auth_methods`-shaped table (what a
 * synchronous projection costs); then the same JSON as the service (`details`).
 *
 * Started by bench/api.ts in its own process, on the tables bench/api.ts creates in the scratch
 * database (schema `bench_floor`, a copy of the users' streams). Environment: FLOOR_DATABASE_URL,
 * FLOOR_POOL. Prints `listening <port>` on stdout once it accepts connections.
 */
import http from 'node:http';
import pg from 'pg';

const url = process.env.FLOOR_DATABASE_URL;
if (!url) throw new Error('FLOOR_DATABASE_URL is required');
const pool = new pg.Pool({ connectionString: url, max: Number(process.env.FLOOR_POOL ?? 20), application_name: 'bench-floor' });

// Named statements: PostgreSQL plans each once per connection, as the service's append function is.
const READ_STREAM = {
  name: 'floor_read_stream',
  text: 'select sequence, type, data, metadata, created_at from bench_floor.events where stream = $1 order by sequence',
};
const INSERT_EVENT = {
  name: 'floor_insert_event',
  text: `insert into bench_floor.events (stream, sequence, type, data, metadata, created_at)
         values ($1, $2, 'user.otp.email.added', '{}'::jsonb, $3::jsonb, date_trunc('milliseconds', statement_timestamp()))
         returning sequence, created_at`,
};
const UPSERT_ROW = {
  name: 'floor_upsert_auth_method',
  text: `insert into bench_floor.user_auth_methods (user_id, method_type, sequence, change_date) values ($1, 'otp_email', $2, $3)
         on conflict (user_id, method_type) do update set sequence = excluded.sequence, change_date = excluded.change_date`,
};
const ROUTE = /^\/v2\/users\/([^/?]+)\/otp_email$/;

async function addOtpEmail(userId: string, correlationId: string): Promise<{ sequence: number; createdAt: Date; orgId: string }> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    const { rows } = await client.query<{ sequence: number; data: { orgId?: string } }>({ ...READ_STREAM, values: [`user-${userId}`] });
    const orgId = rows[0]?.data.orgId ?? '';
    const metadata = JSON.stringify({ correlationId, orgId });
    const inserted = await client.query<{ sequence: number; created_at: Date }>({ ...INSERT_EVENT, values: [`user-${userId}`, rows.length + 1, metadata] });
    const { sequence, created_at } = inserted.rows[0]!;
    await client.query({ ...UPSERT_ROW, values: [userId, sequence, created_at] });
    await client.query('commit');
    return { sequence, createdAt: created_at, orgId };
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const match = req.method === 'POST' ? ROUTE.exec(req.url ?? '') : null;
    const send = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    if (!match) return send(404, { code: 5, message: 'Not Found' });
    if (!req.headers.authorization) return send(401, { code: 16, message: 'unauthenticated' });
    try {
      JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    } catch {
      return send(400, { code: 3, message: 'invalid JSON' });
    }
    addOtpEmail(decodeURIComponent(match[1]!), crypto.randomUUID()).then(
      ({ sequence, createdAt, orgId }) => send(200, { details: { sequence: String(sequence), changeDate: createdAt.toISOString(), resourceOwner: orgId } }),
      (err: unknown) => send(500, { code: 13, message: String(err) }),
    );
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening ${(server.address() as { port: number }).port}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  void pool.end().then(() => process.exit(0));
});
