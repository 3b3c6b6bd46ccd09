// Test helpers of the persistence library (`@audience-bridge/persistence/testing`): fresh SQLite files and
// PostgreSQL databases, migrated. Not exported by the main entry, and removed from the production image.
export * from './test-database';
export * from './table-reads';
