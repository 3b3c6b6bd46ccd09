export * from './entities';
export * from './data-source';
export * from './database';
export * from './crypto/api-key-cipher';
export * from './repositories/membership-ingest.repository';
export * from './testing/test-database';
