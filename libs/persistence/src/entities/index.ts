import { AccountEntity } from './account.entity';
import { AudienceConnectionEntity } from './audience-connection.entity';
import { MembershipEntity } from './membership.entity';
import { ReceivedMessageEntity } from './received-message.entity';

export * from './account.entity';
export * from './audience-connection.entity';
export * from './membership.entity';
export * from './received-message.entity';

/** Every entity, listed explicitly (no globs): the data source and the tests use this list. */
export const ENTITIES = [AccountEntity, AudienceConnectionEntity, ReceivedMessageEntity, MembershipEntity];
