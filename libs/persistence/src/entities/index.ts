import { AccountEntity } from './account.entity';
import { AudienceConnectionEntity } from './audience-connection.entity';
import { DeliveryCallEntity } from './delivery-call.entity';
import { DeliveryVerdictEntity } from './delivery-verdict.entity';
import { DeliverySuccessEntity } from './delivery-success.entity';
import { ListLeaseEntity } from './list-lease.entity';
import { MembershipEntity } from './membership.entity';
import { ReceivedMessageEntity } from './received-message.entity';
import { ListMemberEntity } from './list-member.entity';
import { SyncInboxEntity } from './sync-inbox.entity';
import { DriftReportEntity } from './drift-report.entity';
import { DriftSettingsEntity } from './drift-settings.entity';
import { ErasureRequestEntity } from './erasure-request.entity';
import { UserAttributeEntity } from './user-attribute.entity';
import { AttributeInboxEntity } from './attribute-inbox.entity';
import { AttributeLeaseEntity } from './attribute-lease.entity';
import { StorageProbeEntity } from './storage-probe.entity';
import { ErasureTombstoneEntity } from './erasure-tombstone.entity';
import { CreatedListEntity } from './created-list.entity';
import { ListMemberCountChangeEntity, ListMemberCountEntity } from './list-member-count.entity';
import { MessageCountChangeEntity, MessageCountEntity } from './message-count.entity';
import { InboxCountChangeEntity, InboxCountEntity } from './inbox-count.entity';
import { CallCountChangeEntity, CallCountEntity } from './call-count.entity';
import {
  CallBucketChangeEntity,
  CallBucketEntity,
  CallPeakEntity,
  CallSecondChangeEntity,
  CallSecondEntity,
  OutcomeBucketChangeEntity,
  OutcomeBucketEntity,
} from './delivery-bucket.entity';

export * from './account.entity';
export * from './audience-connection.entity';
export * from './delivery-call.entity';
export * from './delivery-verdict.entity';
export * from './delivery-success.entity';
export * from './list-lease.entity';
export * from './membership.entity';
export * from './received-message.entity';
export * from './list-member.entity';
export * from './sync-inbox.entity';
export * from './drift-report.entity';
export * from './drift-settings.entity';
export * from './erasure-request.entity';
export * from './user-attribute.entity';
export * from './attribute-inbox.entity';
export * from './attribute-lease.entity';
export * from './storage-probe.entity';
export * from './erasure-tombstone.entity';
export * from './created-list.entity';
export * from './list-member-count.entity';
export * from './message-count.entity';
export * from './inbox-count.entity';
export * from './call-count.entity';
export * from './delivery-bucket.entity';

/** Every entity, listed explicitly (no globs): the data source and the tests use this list. */
export const ENTITIES = [
  AccountEntity,
  AudienceConnectionEntity,
  ReceivedMessageEntity,
  MembershipEntity,
  ListLeaseEntity,
  DeliveryCallEntity,
  DeliveryVerdictEntity,
  DeliverySuccessEntity,
  SyncInboxEntity,
  ListMemberEntity,
  ErasureRequestEntity,
  DriftReportEntity,
  DriftSettingsEntity,
  UserAttributeEntity,
  AttributeInboxEntity,
  AttributeLeaseEntity,
  StorageProbeEntity,
  ErasureTombstoneEntity,
  CreatedListEntity,
  ListMemberCountEntity,
  ListMemberCountChangeEntity,
  MessageCountEntity,
  MessageCountChangeEntity,
  InboxCountEntity,
  InboxCountChangeEntity,
  CallCountEntity,
  CallCountChangeEntity,
  CallBucketEntity,
  CallBucketChangeEntity,
  OutcomeBucketEntity,
  OutcomeBucketChangeEntity,
  CallSecondEntity,
  CallSecondChangeEntity,
  CallPeakEntity,
];
