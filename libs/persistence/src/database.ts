import { DataSource, EntityManager } from 'typeorm';
import { DatabaseDriver } from './data-source';

/**
 * The few things raw SQL needs to run the same on SQLite and PostgreSQL: `?` placeholders rewritten to
 * `$n` for PostgreSQL, and on SQLite one statement or transaction at a time. SQLite has one connection:
 * a statement (or TypeORM's BEGIN, which nests as a SAVEPOINT) issued while another transaction is open
 * would run inside it, and a "committed" change could still be rolled back with it. So on SQLite every
 * write goes through one queue: `query`/`execute` without a transaction's manager, `transaction`, and
 * `exclusive` for TypeORM repository writes. PostgreSQL takes one pooled connection per transaction.
 */
export class Database {
  readonly driver: DatabaseDriver;
  /**
   * Transactions PostgreSQL chose as a deadlock victim or failed for serialization (each run again), and
   * statements that waited for a lock: what `/metrics` reports. The design expects none of either.
   */
  readonly contention = { deadlocks: 0, serializationFailures: 0 };
  private sqliteQueue: Promise<unknown> = Promise.resolve();

  constructor(readonly dataSource: DataSource) {
    this.driver = dataSource.options.type === 'postgres' ? 'postgres' : 'sqlite';
  }

  /**
   * Sessions of this database waiting for a lock right now (PostgreSQL; SQLite serializes writers by design
   * and answers 0): sampled by each metrics scrape.
   */
  async lockWaits(): Promise<number> {
    if (this.driver !== 'postgres') return 0;
    const [row] = await this.dataSource.query(`SELECT COUNT(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`);
    return Number(row?.n ?? 0);
  }

  /** `?` → `$1, $2, …` on PostgreSQL. Our SQL has no `?` inside string literals. */
  sql(text: string): string {
    if (this.driver === 'sqlite') return text;
    let n = 0;
    return text.replace(/\?/g, () => `$${++n}`);
  }

  /** A string comparison in code-point order on both drivers (PostgreSQL's default collation is not). */
  binary(expression: string): string {
    return this.driver === 'postgres' ? `${expression} COLLATE "C"` : expression;
  }

  /** A condition "`column` (a TIMESTAMP written with CURRENT_TIMESTAMP) is older than `?` ms", in the database's own clock. */
  olderThan(column: string): string {
    return this.driver === 'postgres'
      ? `${column} < CURRENT_TIMESTAMP - (?::bigint * INTERVAL '1 millisecond')`
      : `${column} < datetime('now', '-' || CAST(? / 1000 AS INTEGER) || ' seconds')`;
  }

  /** A `?` placeholder typed for PostgreSQL (`?::bigint`), where it cannot infer the type (VALUES lists). */
  typed(type: 'bigint' | 'integer' | 'text'): string {
    return this.driver === 'postgres' ? `?::${type}` : '?';
  }

  /**
   * `INSERT INTO table (columns) <rows> <tail>` for many rows, returning the rows of `tail`'s RETURNING. On
   * PostgreSQL the rows travel as one array per column (`SELECT * FROM unnest(…)`): a handful of parameters
   * to parse instead of thousands. On SQLite they are a VALUES list, in chunks under its parameter limit.
   * `tail` may hold ON CONFLICT and RETURNING clauses (with `excluded.`), written for both drivers.
   */
  async insertRows<T = Record<string, unknown>>(
    table: string,
    columns: readonly { name: string; type: 'bigint' | 'integer' | 'text' | 'boolean' }[],
    rows: unknown[][],
    tail = '',
    manager?: EntityManager,
  ): Promise<T[]> {
    if (rows.length === 0) return [];
    const names = columns.map((c) => c.name).join(', ');
    if (this.driver === 'postgres') {
      const arrays = columns.map((_, i) => rows.map((r) => r[i] ?? null));
      const unnest = columns.map((c) => `?::${c.type}[]`).join(', ');
      const { rows: out } = await this.execute<T>(`INSERT INTO ${table} (${names}) SELECT * FROM unnest(${unnest}) ${tail}`, arrays, manager);
      return out;
    }
    const perStatement = Math.max(1, Math.floor(30_000 / columns.length));
    const out: T[] = [];
    for (let start = 0; start < rows.length; start += perStatement) {
      const chunk = rows.slice(start, start + perStatement);
      const values = chunk.map(() => `(${columns.map(() => '?').join(', ')})`).join(', ');
      // "VALUES … ON CONFLICT" is ambiguous to SQLite's parser after a SELECT; a plain VALUES list is not.
      const { rows: part } = await this.execute<T>(`INSERT INTO ${table} (${names}) VALUES ${values} ${tail}`, chunk.flat(), manager);
      out.push(...part);
    }
    return out;
  }

  query<T = Record<string, unknown>>(text: string, params: unknown[] = [], manager?: EntityManager): Promise<T[]> {
    if (manager) return manager.query(this.sql(text), this.params(params));
    return this.exclusive(() => this.dataSource.manager.query(this.sql(text), this.params(params)));
  }

  /**
   * Runs `work` alone on SQLite (queued behind every other statement and transaction of this process);
   * on PostgreSQL it just runs. For TypeORM repository writes, which open transactions of their own.
   */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    if (this.driver === 'postgres') return work();
    const run = this.sqliteQueue.then(work);
    this.sqliteQueue = run.catch(() => undefined);
    return run;
  }

  private params(params: unknown[]): unknown[] {
    return this.driver === 'sqlite' ? params.map((p) => (typeof p === 'boolean' ? Number(p) : p)) : params;
  }

  /** Runs a statement and returns its rows (with RETURNING) and the number of rows it changed. */
  async execute<T = Record<string, unknown>>(text: string, params: unknown[] = [], manager?: EntityManager): Promise<{ rows: T[]; affected: number }> {
    const run = async () => {
      const runner = manager?.queryRunner ?? this.dataSource.createQueryRunner();
      try {
        const result = await runner.query(this.sql(text), this.params(params), true);
        return { rows: (result.records ?? []) as T[], affected: result.affected ?? 0 };
      } finally {
        if (!manager?.queryRunner) await runner.release();
      }
    };
    return manager ? run() : this.exclusive(run);
  }

  /**
   * Runs `work` in a transaction. On PostgreSQL a transaction chosen as a deadlock victim (or failing
   * serialization) is rolled back whole and run again, up to 5 times: the API's ingest and the worker's
   * settlement touch the same rows in different orders, and this is the standard answer to that.
   */
  async transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    if (this.driver === 'postgres') return this.againOnConflict(() => this.dataSource.transaction(work));
    return this.exclusive(() => this.dataSource.transaction(work));
  }

  /**
   * One statement on its own (PostgreSQL's autocommit: atomic, no BEGIN/COMMIT round trips), run again like
   * a transaction when chosen as a deadlock victim. For writes that fit in one statement (data-modifying CTEs).
   */
  async statement<T = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> {
    if (this.driver === 'postgres') return this.againOnConflict(async () => (await this.execute<T>(text, params)).rows);
    return (await this.execute<T>(text, params)).rows;
  }

  private async againOnConflict<T>(work: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await work();
      } catch (error) {
        const code = (error as { driverError?: { code?: string }; code?: string }).driverError?.code ?? (error as { code?: string }).code;
        if (code === '40P01') this.contention.deadlocks++;
        if (code === '40001') this.contention.serializationFailures++;
        if (attempt >= 5 || (code !== '40P01' && code !== '40001')) throw error;
        await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20 * attempt));
      }
    }
  }
}
