import cluster from 'node:cluster';
import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import BetterSqlite3 from 'better-sqlite3';
import { Pool } from 'pg';

/**
 * The floor of `npm run bench`: the least work a correct answer to a membership message needs, on the same machine
 * and database as the API. node:http, parse the JSON, one multi-row newest-wins upsert of the same rows (account,
 * audience, user, action, email, userId, timestamp) into an equivalent table, answer. No framework, no validation
 * beyond the shape it reads, no message ids, no inbox, no settings. A figure of ours divided by the floor's says
 * how much of the hardware the service leaves unused, on any machine.
 *
 * Run as its own process (like the API): `node tools/bench/dist/floor-server.js` with DATABASE_URL (sqlite:<path> or
 * postgres://…), PORT and FLOOR_PROCESSES (node:cluster, as API_PROCESSES).
 */

export const FLOOR_TABLE = `floor_memberships`;

/** The table, created by the bench before the floor starts (the same columns the upsert writes). */
export const FLOOR_SCHEMA = `CREATE TABLE IF NOT EXISTS floor_memberships (
  account_id bigint NOT NULL, audience_id bigint NOT NULL, user_key varchar(200) NOT NULL, action varchar(8) NOT NULL,
  email varchar(320), user_id varchar(200), timestamp_ms bigint NOT NULL, PRIMARY KEY (account_id, audience_id, user_key))`;

type Row = [number, number, string, string, string | null, string | null, number];

const UPSERT_TAIL = `ON CONFLICT (account_id, audience_id, user_key) DO UPDATE SET action = excluded.action, email = excluded.email,
  user_id = excluded.user_id, timestamp_ms = excluded.timestamp_ms WHERE excluded.timestamp_ms > floor_memberships.timestamp_ms`;

interface Profile {
  mpid?: string;
  user_identities?: { type?: string; value?: string }[];
  audiences?: { audience_id?: number; action?: string }[];
}

/** The rows a message names, one per (audience, user): the last wins within a message, as coalescing does. */
function rowsOf(message: { account?: { account_id?: number }; timestamp_ms?: number; user_profiles?: Profile[] }): Row[] {
  const accountId = Number(message.account?.account_id);
  const at = Number(message.timestamp_ms);
  if (!Number.isSafeInteger(accountId) || !Number.isSafeInteger(at) || !Array.isArray(message.user_profiles)) throw new Error('not a membership message');
  const rows = new Map<string, Row>();
  for (const p of message.user_profiles) {
    const email = p.user_identities?.find((i) => i.type === 'email')?.value ?? null;
    const customerId = p.user_identities?.find((i) => i.type === 'customer')?.value ?? null;
    const userKey = customerId ?? p.mpid;
    if (!userKey) continue;
    for (const a of p.audiences ?? []) {
      const audienceId = Number(a.audience_id);
      rows.set(`${audienceId}\u0000${userKey}`, [accountId, audienceId, userKey, a.action === 'delete' ? 'delete' : 'add', email, customerId, at]);
    }
  }
  return [...rows.values()].sort((x, y) => x[1] - y[1] || (x[2] < y[2] ? -1 : x[2] > y[2] ? 1 : 0));
}

function writerFor(databaseUrl: string): (rows: Row[]) => Promise<void> {
  if (databaseUrl.startsWith('sqlite:')) {
    const db = new BetterSqlite3(databaseUrl.slice('sqlite:'.length));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    const statements = new Map<number, BetterSqlite3.Statement>();
    const statementFor = (n: number) => {
      let statement = statements.get(n);
      if (!statement) {
        statement = db.prepare(`INSERT INTO floor_memberships VALUES ${Array.from({ length: n }, () => '(?, ?, ?, ?, ?, ?, ?)').join(', ')} ${UPSERT_TAIL}`);
        statements.set(n, statement);
      }
      return statement;
    };
    return async (rows) => {
      if (rows.length > 0) statementFor(rows.length).run(rows.flat());
    };
  }
  const pool = new Pool({ connectionString: databaseUrl, max: 10 });
  const types = ['bigint', 'bigint', 'text', 'text', 'text', 'text', 'bigint'];
  const text = `INSERT INTO floor_memberships SELECT * FROM unnest(${types.map((t, i) => `$${i + 1}::${t}[]`).join(', ')}) ${UPSERT_TAIL}`;
  return async (rows) => {
    if (rows.length === 0) return;
    await pool.query(
      text,
      types.map((_, i) => rows.map((r) => r[i])),
    );
  };
}

/** Serves on `port`; `listening` runs once the port is bound (the bench connects only then). */
function serve(databaseUrl: string, port: number, listening: () => void): void {
  const write = writerFor(databaseUrl);
  const answer = (res: ServerResponse, status: number, body: object) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let message: { id?: string; account?: { account_id?: number }; timestamp_ms?: number; user_profiles?: Profile[] };
      try {
        message = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        const rows = rowsOf(message);
        write(rows).then(
          () => answer(res, 200, { type: 'audience_membership_change_response', id: message.id, firehose_version: '3.2.0' }),
          (error: unknown) => answer(res, 500, { message: String(error) }),
        );
      } catch (error) {
        answer(res, 400, { message: String(error) });
      }
    });
  }).listen(port, '127.0.0.1', listening);
}

if (require.main === module) {
  const databaseUrl = process.env['DATABASE_URL'] ?? '';
  const port = Number(process.env['PORT'] ?? 3900);
  const processes = Number(process.env['FLOOR_PROCESSES'] ?? 1);
  if (processes > 1 && cluster.isPrimary) {
    for (let i = 0; i < processes; i++) cluster.fork();
    process.on('SIGTERM', () => {
      for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM');
      process.exit(0);
    });
  } else {
    // Said once bound, not when listen() was called: the bench connected too early and was refused (ECONNREFUSED).
    serve(databaseUrl, port, () => process.stdout.write(`floor listening on ${port}\n`));
  }
}
