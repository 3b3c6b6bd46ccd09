import { DataSource } from 'typeorm';
import { driverOf } from './data-source';

/**
 * Resolves when the database of DATABASE_URL answers a query; rejects with the driver's error otherwise.
 * SQLite is a local file the process opens itself, so there is nothing to wait for. Used at boot (with
 * `waitUntilReachable`) so that an unreachable PostgreSQL is said once, clearly, instead of a stack per retry.
 */
export async function probeDatabase(databaseUrl: string, timeoutMs = 3000): Promise<void> {
  if (driverOf(databaseUrl) === 'sqlite') return;
  const probe = new DataSource({ type: 'postgres', url: databaseUrl, extra: { max: 1, connectionTimeoutMillis: timeoutMs } });
  await probe.initialize();
  try {
    await probe.query('SELECT 1');
  } finally {
    await probe.destroy();
  }
}
