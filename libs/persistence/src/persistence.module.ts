import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ApiKeyCipher } from './crypto/api-key-cipher';
import { dataSourceOptions } from './data-source';
import { Database } from './database';
import { AccountsRepository } from './repositories/accounts.repository';
import { AudienceConnectionsRepository } from './repositories/audience-connections.repository';
import { AuditRepository } from './repositories/audit.repository';
import { CreatedListsRepository } from './repositories/created-lists.repository';
import { DeliveryRepository } from './repositories/delivery.repository';
import { ErasureRepository } from './repositories/erasure.repository';
import { AttributesRepository } from './repositories/attributes.repository';
import { ListLeasesRepository } from './repositories/list-leases.repository';
import { MembershipIngestRepository } from './repositories/membership-ingest.repository';
import { MembershipsRepository } from './repositories/memberships.repository';

export interface PersistenceOptions {
  databaseUrl: string;
  /** ENCRYPTION_KEY: 32 bytes in base64. */
  encryptionKey: string;
  /** ENCRYPTION_KEY_PREVIOUS: during a key rotation, still accepted for reading stored API keys. */
  previousEncryptionKey?: string;
  /** INGEST_GROUPS_IN_FLIGHT: group statements one API process has in flight at once (PostgreSQL). */
  ingestGroupsInFlight?: number;
}

const REPOSITORIES = [
  AccountsRepository,
  AudienceConnectionsRepository,
  MembershipsRepository,
  DeliveryRepository,
  ListLeasesRepository,
  AuditRepository,
  ErasureRepository,
  AttributesRepository,
];

/** The database of both apps: TypeORM on DATABASE_URL (never synchronized), the key cipher and the repositories. */
@Module({})
export class PersistenceModule {
  static forRoot(options: PersistenceOptions): DynamicModule {
    return {
      module: PersistenceModule,
      global: true,
      imports: [TypeOrmModule.forRoot(dataSourceOptions(options.databaseUrl))],
      providers: [
        { provide: Database, inject: [DataSource], useFactory: (dataSource: DataSource) => new Database(dataSource) },
        { provide: ApiKeyCipher, useFactory: () => new ApiKeyCipher(options.encryptionKey, options.previousEncryptionKey) },
        {
          provide: MembershipIngestRepository,
          inject: [Database, ApiKeyCipher],
          useFactory: (db: Database, cipher: ApiKeyCipher) => new MembershipIngestRepository(db, cipher, undefined, options.ingestGroupsInFlight),
        },
        {
          provide: CreatedListsRepository,
          inject: [Database, ApiKeyCipher],
          useFactory: (db: Database, cipher: ApiKeyCipher) => new CreatedListsRepository(db, cipher),
        },
        ...REPOSITORIES,
      ],
      exports: [Database, ApiKeyCipher, MembershipIngestRepository, CreatedListsRepository, ...REPOSITORIES],
    };
  }
}
