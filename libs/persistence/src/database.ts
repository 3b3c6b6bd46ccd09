import { randomBytes } from 'node:crypto';
import { DataSource, EntityManager, QueryFailedError, QueryRunner } from 'typeorm';
import { DatabaseDriver } from './data-source';
import { isStorageUnavailable, StorageUnavailableError } from './storage-errors';

/** better-sqlite3's connection, as far as the transaction rule below needs it. */
interface SqliteConnection {
  readonly inTransaction: boolean;
  exec(sql: string): unknown;
}

/** A SQLite transaction waiting for its group (see `Database.transaction`). */
interface GroupedWork {
  work: (manager: EntityManager) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** At most this many transactions share one SQLite COMMIT. */
const MAX_GROUP = 200;

/** TypeORM's query runner flags that must agree with the connection after a failed COMMIT or ROLLBACK. */
interface RunnerFlags {
  isTransactionActive: boolean;
  transactionDepth: number;
}

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
  /**
   * Since when this process cannot make a write durable: set by the first write storage refused (a failed COMMIT,
   * a full disk, an I/O error, a lost connection), cleared by the next one that committed. Readiness reports it.
   */
  private failingSince: number | null = null;
  private sqliteQueue: Promise<unknown> = Promise.resolve();
  /** SQLite transactions waiting to run in the next group (see `transaction`). */
  private sqliteGroup: GroupedWork[] = [];
  private sqliteGroupQueued = false;
  /** Group commit on SQLite: groups committed and the transactions they carried (tests read them). */
  readonly groupCommit = { groups: 0, transactions: 0 };

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
    const run = this.sqliteQueue.then(() => this.sqliteAlone(work));
    this.sqliteQueue = run.catch(() => undefined);
    return run;
  }

  /**
   * One unit of SQLite work with the rule that keeps "committed" true: it starts with no transaction open and
   * must end with none. TypeORM's runner keeps its own transaction flags, and a COMMIT or ROLLBACK that throws
   * (a full disk, an I/O error) leaves them set while SQLite has rolled back, or leaves SQLite inside a
   * transaction; every later BEGIN would then be a SAVEPOINT inside a transaction that is never committed, and
   * every later answer a lie. So after a failure the connection is rolled back and the flags reset, and work
   * that returns with a transaction still open did not commit: it is rolled back and fails.
   */
  private async sqliteAlone<T>(work: () => Promise<T>): Promise<T> {
    if (this.sqliteTransactionOpen()) this.resetSqlite();
    let result: T;
    try {
      result = await work();
    } catch (error) {
      if (this.sqliteTransactionOpen()) this.resetSqlite();
      throw this.failed(error);
    }
    if (this.sqliteTransactionOpen()) {
      this.resetSqlite();
      throw this.failed(new StorageUnavailableError('commit', new Error('the transaction was still open after it returned: nothing was committed')));
    }
    return result;
  }

  private sqliteConnection(): { connection?: SqliteConnection; runner?: RunnerFlags } {
    const driver = this.dataSource.driver as unknown as { databaseConnection?: SqliteConnection; queryRunner?: RunnerFlags };
    return { connection: driver.databaseConnection, runner: driver.queryRunner };
  }

  private sqliteTransactionOpen(): boolean {
    const { connection, runner } = this.sqliteConnection();
    return Boolean(connection?.inTransaction || runner?.isTransactionActive || (runner?.transactionDepth ?? 0) > 0);
  }

  /** Rolls the one connection back (if SQLite still has a transaction) and tells TypeORM's runner none is open. */
  private resetSqlite(): void {
    const { connection, runner } = this.sqliteConnection();
    try {
      if (connection?.inTransaction) connection.exec('ROLLBACK');
    } finally {
      if (runner) {
        runner.isTransactionActive = false;
        runner.transactionDepth = 0;
      }
    }
  }

  /** Notes a failed write (a storage fault makes this process "cannot write" until a write commits) and returns the error to throw. */
  private failed(error: unknown): unknown {
    if (isStorageUnavailable(error)) this.failingSince ??= Date.now();
    return error;
  }

  private committed(): void {
    this.failingSince = null;
  }

  /** True while the last write that storage refused has not been followed by one that committed. */
  cannotWrite(): boolean {
    return this.failingSince !== null;
  }

  /**
   * A write that needs new pages, made and undone in one committed transaction (the `storage_probe` table stays
   * empty): readiness runs it while writes are failing, so a process whose storage is back says so without
   * waiting for traffic. Rejects with the storage error when it still cannot write.
   */
  async probeWrite(): Promise<void> {
    const holder = randomBytes(8).toString('hex');
    await this.transaction(async (manager) => {
      await this.query(`INSERT INTO storage_probe (holder, written_at_ms, pad) VALUES (?, ?, ?)`, [holder, Date.now(), 'p'.repeat(16_384)], manager);
      await this.query(`DELETE FROM storage_probe WHERE holder = ?`, [holder], manager);
    });
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
   * settlement touch the same rows in different orders, and this is the standard answer to that. On SQLite
   * transactions that arrive while another group runs share one COMMIT (`runSqliteGroup`): the promise resolves
   * only once that COMMIT is durable, and a work that fails fails alone.
   */
  async transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    if (this.driver === 'postgres') {
      try {
        return await this.againOnConflict(() => this.runTransaction(work));
      } catch (error) {
        throw this.failed(error);
      }
    }
    return new Promise<T>((resolve, reject) => {
      this.sqliteGroup.push({ work, resolve: resolve as (value: unknown) => void, reject });
      this.queueSqliteGroup();
    });
  }

  private queueSqliteGroup(): void {
    if (this.sqliteGroupQueued) return;
    this.sqliteGroupQueued = true;
    void this.exclusive(() => this.runSqliteGroup()).catch(() => undefined);
  }

  /**
   * Group commit on SQLite, the one writer: every transaction that arrived while the previous group ran goes into
   * one `BEGIN IMMEDIATE … COMMIT` (one WAL sync instead of one each), each inside a savepoint of its own. A work
   * that fails is rolled back to its savepoint and fails alone; the others commit. No work's promise resolves
   * before the COMMIT that makes it durable, and a COMMIT that fails fails every work of the group (none stored,
   * none answered 200). If SQLite itself rolled the whole transaction back (a full disk can), the works that
   * had succeeded in it fail too, and the rest of the group goes on in a new transaction.
   */
  private async runSqliteGroup(): Promise<void> {
    this.sqliteGroupQueued = false;
    const queued = this.sqliteGroup.splice(0, MAX_GROUP);
    if (this.sqliteGroup.length > 0) this.queueSqliteGroup();
    // Each work settles once; whatever this code did not foresee fails the works it left unsettled, never hangs them.
    const unsettled = new Set(queued);
    const group = queued.map((item) => ({
      work: item.work,
      resolve: (value: unknown) => unsettled.delete(item) && item.resolve(value),
      reject: (error: unknown) => unsettled.delete(item) && item.reject(error),
    }));
    try {
      await this.writeSqliteGroup(group);
    } catch (error) {
      for (const item of unsettled) item.reject(this.failed(error));
    }
  }

  private async writeSqliteGroup(group: GroupedWork[]): Promise<void> {
    const runner = this.dataSource.createQueryRunner();
    let open = false;
    let succeeded: { item: GroupedWork; value: unknown }[] = [];
    const lose = (error: unknown) => {
      const lost = new StorageUnavailableError('commit', error);
      this.failed(lost);
      for (const s of succeeded) s.item.reject(lost);
      succeeded = [];
    };
    for (const [i, item] of group.entries()) {
      try {
        if (!open) {
          await this.begin(runner);
          open = true;
        }
        await runner.query(`SAVEPOINT group_${i}`);
      } catch (error) {
        // No transaction to put this work in (the write lock not granted within busy_timeout, storage gone):
        // the rest of the group fails with it rather than each waiting for the same lock again.
        const failure = this.failed(error);
        lose(error);
        for (const rest of group.slice(i)) rest.reject(failure);
        await this.rollbackQuietly(runner);
        return;
      }
      try {
        const value = await item.work(runner.manager);
        await runner.query(`RELEASE group_${i}`);
        succeeded.push({ item, value });
      } catch (error) {
        // Undo this work alone; if SQLite rolled the whole transaction back by itself (a full disk can), or the
        // undo fails, what succeeded in it is gone too.
        const undone = await this.rollbackToSavepoint(runner, `group_${i}`);
        if (!undone.ok) {
          lose(undone.error ?? error);
          await this.rollbackQuietly(runner);
          open = false;
        }
        item.reject(this.failed(error));
      }
    }
    if (!open) return;
    try {
      await runner.commitTransaction();
    } catch (error) {
      await this.rollbackQuietly(runner);
      lose(error);
      return;
    }
    if (this.sqliteTransactionOpen()) {
      this.resetSqlite();
      lose(new Error('the transaction was still open after COMMIT: nothing was committed'));
      return;
    }
    this.committed();
    this.groupCommit.groups++;
    this.groupCommit.transactions += succeeded.length;
    for (const s of succeeded) s.item.resolve(s.value);
  }

  private async rollbackToSavepoint(runner: QueryRunner, name: string): Promise<{ ok: boolean; error?: unknown }> {
    if (!this.sqliteConnection().connection?.inTransaction) return { ok: false };
    try {
      await runner.query(`ROLLBACK TO ${name}`);
      await runner.query(`RELEASE ${name}`);
      return { ok: true };
    } catch (error) {
      return { ok: false, error };
    }
  }

  /**
   * BEGIN, `work`, COMMIT on one runner. A COMMIT that throws (a deferred constraint, a full disk, an I/O error,
   * a lost connection) is a `StorageUnavailableError` of phase `commit`: nothing of `work` is stored, and the
   * runner is rolled back so no later transaction runs inside this one.
   */
  private async runTransaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    const runner = this.dataSource.createQueryRunner();
    try {
      await this.begin(runner);
      let result: T;
      try {
        result = await work(runner.manager);
      } catch (error) {
        await this.rollbackQuietly(runner);
        throw error;
      }
      try {
        await runner.commitTransaction();
      } catch (error) {
        await this.rollbackQuietly(runner);
        throw new StorageUnavailableError('commit', error);
      }
      this.committed();
      return result;
    } finally {
      await runner.release();
    }
  }

  /**
   * On SQLite `BEGIN IMMEDIATE`: the write lock is taken at the start, where `busy_timeout` waits for another
   * process's writer. TypeORM's deferred BEGIN takes it at the first write instead, and a transaction that read
   * first then fails at once with "database is locked" when another process committed meanwhile (WAL's busy
   * snapshot, where no busy handler waits). The runner's flags are set as its own BEGIN would.
   */
  private async begin(runner: QueryRunner): Promise<void> {
    if (this.driver !== 'sqlite') return runner.startTransaction();
    await runner.query('BEGIN IMMEDIATE');
    const flags = runner as unknown as RunnerFlags;
    flags.isTransactionActive = true;
    flags.transactionDepth = 1;
  }

  private async rollbackQuietly(runner: QueryRunner): Promise<void> {
    try {
      if (runner.isTransactionActive) await runner.rollbackTransaction();
    } catch {
      // The connection's own state is put right below (SQLite) or the server has ended the transaction (PostgreSQL).
    }
    const flags = runner as unknown as RunnerFlags;
    flags.isTransactionActive = false;
    flags.transactionDepth = 0;
    if (this.driver === 'sqlite') this.resetSqlite();
  }

  /**
   * One statement on its own (PostgreSQL's autocommit: atomic, no BEGIN/COMMIT round trips), run again like
   * a transaction when chosen as a deadlock victim. For writes that fit in one statement (data-modifying CTEs).
   */
  async statement<T = Record<string, unknown>>(text: string, params: unknown[] = [], options: { prepareAs?: string } = {}): Promise<T[]> {
    try {
      const rows =
        this.driver === 'postgres'
          ? await this.againOnConflict(async () =>
              options.prepareAs ? await this.prepared<T>(options.prepareAs, text, params) : (await this.execute<T>(text, params)).rows,
            )
          : (await this.execute<T>(text, params)).rows;
      this.committed();
      return rows;
    } catch (error) {
      throw this.failed(error);
    }
  }

  /**
   * A named prepared statement on PostgreSQL (node-postgres prepares it once per pooled connection): each run
   * sends only Bind/Execute with the parameters, not the statement's text to parse and plan again. For the
   * ingest's hot statement, whose text is a few KB. Same errors and autocommit as `execute`.
   */
  private async prepared<T>(name: string, text: string, params: unknown[]): Promise<T[]> {
    const pool = (this.dataSource.driver as unknown as { master: { query(q: { name: string; text: string; values: unknown[] }): Promise<{ rows: T[] }> } })
      .master;
    try {
      return (await pool.query({ name, text: this.sql(text), values: params })).rows;
    } catch (error) {
      // The shape TypeORM gives driver errors (`driverError.code`), so every caller reads them alike.
      throw new QueryFailedError(name, params, error as Error);
    }
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
