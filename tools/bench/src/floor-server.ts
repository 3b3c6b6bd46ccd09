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
 * FLOOR_SHAPE=durable adds, in the same statement (SQLite: the same transaction), the two writes DESIGN's invariants
 * ask of every acknowledged message whatever the code around them: its id remembered (a duplicate changes nothing,
 * invariant 2) and an inbox row per changed member (the worker finds every durable change, invariants 1 and 8).
 * Still no framework, validation, settings or lists. Ours divided by it says what our code costs beyond the writes
 * any correct implementation makes; it divided by the minimal floor, what those writes cost.
 *
 * Run as its own process (like the API): `node tools/bench/dist/floor-server.js` with DATABASE_URL (sqlite:<path> or
 * postgres://…), PORT, FLOOR_PROCESSES (node:cluster, as API_PROCESSES) and FLOOR_SHAPE (minimal | durable).
 */

export const FLOOR_TABLE = `floor_memberships`;

/** The table, created by the bench before the floor starts (the same columns the upsert writes). */
export const FLOOR_SCHEMA = `CREATE TABLE IF NOT EXISTS floor_memberships (
  account_id bigint NOT NULL, audience_id bigint NOT NULL, user_key varchar(200) NOT NULL, action varchar(8) NOT NULL,
  email varchar(320), user_id varchar(200), timestamp_ms bigint NOT NULL, PRIMARY KEY (account_id, audience_id, user_key))`;

/** The durable shape's two more tables: remembered message ids and the inbox (as `received_messages`, `sync_inbox`). */
export function floorDurableSchema(driver: 'postgres' | 'sqlite'): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS floor_messages (account_id bigint NOT NULL, message_id varchar(128) NOT NULL,
      timestamp_ms bigint NOT NULL, received_at_ms bigint NOT NULL, PRIMARY KEY (account_id, message_id))`,
    `CREATE TABLE IF NOT EXISTS floor_inbox (${driver === 'postgres' ? 'id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY' : 'id integer PRIMARY KEY'},
      list_id bigint NOT NULL, member_key varchar(320), created_at_ms bigint NOT NULL)`,
    `CREATE INDEX IF NOT EXISTS floor_inbox_by_list ON floor_inbox (list_id, id)`,
  ];
}

/** `minimal`: the upsert alone; `durable`: with the message id and the inbox rows. */
export type FloorShape = 'minimal' | 'durable';
type Row = [number, number, string, string, string | null, string | null, number];
/** What a write needs of the message besides its rows (the durable shape remembers its id). */
interface Written {
  accountId: number;
  messageId: string;
  timestampMs: number;
  rows: Row[];
}

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

function writerFor(databaseUrl: string, shape: FloorShape): (w: Written) => Promise<void> {
  const durable = shape === 'durable';
  if (databaseUrl.startsWith('sqlite:')) {
    const db = new BetterSqlite3(databaseUrl.slice('sqlite:'.length));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    const statements = new Map<number, BetterSqlite3.Statement>();
    const statementFor = (n: number) => {
      let statement = statements.get(n);
      if (!statement) {
        statement = db.prepare(
          `INSERT INTO floor_memberships VALUES ${Array.from({ length: n }, () => '(?, ?, ?, ?, ?, ?, ?)').join(', ')} ${UPSERT_TAIL}` +
            (durable ? ' RETURNING audience_id, email' : ''),
        );
        statements.set(n, statement);
      }
      return statement;
    };
    if (!durable) {
      return async (w) => {
        if (w.rows.length > 0) statementFor(w.rows.length).run(w.rows.flat());
      };
    }
    const remember = db.prepare('INSERT INTO floor_messages VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING');
    const append = db.prepare('INSERT INTO floor_inbox (list_id, member_key, created_at_ms) VALUES (?, ?, ?)');
    // The inbox rows: one per changed member with an email, on its audience (the floor has no lists).
    const durably = db.transaction((w: Written) => {
      const now = Date.now();
      if (remember.run(w.accountId, w.messageId, w.timestampMs, now).changes === 0 || w.rows.length === 0) return;
      const changed = statementFor(w.rows.length).all(w.rows.flat()) as { audience_id: number; email: string | null }[];
      for (const c of changed) if (c.email !== null) append.run(c.audience_id, c.email, now);
    });
    return async (w) => {
      durably(w);
    };
  }
  const pool = new Pool({ connectionString: databaseUrl, max: 10 });
  const types = ['bigint', 'bigint', 'text', 'text', 'text', 'text', 'bigint'];
  const upsert = `INSERT INTO floor_memberships SELECT * FROM unnest(${types.map((t, i) => `$${i + 1}::${t}[]`).join(', ')}) AS r`;
  const n = types.length;
  const text = durable
    ? `WITH seen AS (
         INSERT INTO floor_messages VALUES ($${n + 1}, $${n + 2}, $${n + 3}, $${n + 4}) ON CONFLICT DO NOTHING RETURNING 1
       ), up AS (
         ${upsert} WHERE EXISTS (SELECT 1 FROM seen) ${UPSERT_TAIL} RETURNING audience_id, email
       )
       INSERT INTO floor_inbox (list_id, member_key, created_at_ms) SELECT audience_id, email, $${n + 4} FROM up WHERE email IS NOT NULL`
    : `${upsert} ${UPSERT_TAIL}`;
  return async (w) => {
    if (w.rows.length === 0 && !durable) return;
    const columns = types.map((_, i) => w.rows.map((r) => r[i]));
    await pool.query(text, durable ? [...columns, w.accountId, w.messageId, w.timestampMs, Date.now()] : columns);
  };
}

/** Serves on `port`; `listening` runs once the port is bound (the bench connects only then). */
function serve(databaseUrl: string, port: number, shape: FloorShape, listening: () => void): void {
  const write = writerFor(databaseUrl, shape);
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
        write({ accountId: Number(message.account?.account_id), messageId: String(message.id), timestampMs: Number(message.timestamp_ms), rows }).then(
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
    const shape: FloorShape = process.env['FLOOR_SHAPE'] === 'durable' ? 'durable' : 'minimal';
    serve(databaseUrl, port, shape, () => process.stdout.write(`floor listening on ${port}\n`));
  }
}
