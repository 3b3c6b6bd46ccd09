import { InitialSchema1795881130566 } from './1795881130566-initial-schema';
import { DeliveryAudit1795881989039 } from './1795881989039-delivery-audit';
import { StateModelSplit1795988370655 } from './1795988370655-state-model-split';
import { SettingsNewestWins1795989050098 } from './1795989050098-settings-newest-wins';
import { ListLeaseInFlight1795989915650 } from './1795989915650-list-lease-in-flight';
import { ErasureRequests1796000230960 } from './1796000230960-erasure-requests';
import { DriftChecks1796000510900 } from './1796000510900-drift-checks';
import { UserAttributes1796001366198 } from './1796001366198-user-attributes';
import { AcknowledgedMeansStored1797000000100 } from './1797000000100-acknowledged-means-stored';
import { DriftRepairExtras1797000241500 } from './1797000241500-drift-repair-extras';
import { ErasureTombstones1797000300000 } from './1797000300000-erasure-tombstones';
import { CreatedLists1797000400000 } from './1797000400000-created-lists';
import { AttributeRecheck1797000500000 } from './1797000500000-attribute-recheck';
import { ListMembersByUser1797000600000 } from './1797000600000-list-members-by-user';
import { ListMemberCounts1797000700000 } from './1797000700000-list-member-counts';
import { MembershipsByEmailAndAudience1797000800000 } from './1797000800000-memberships-by-email-and-audience';
import { DeliverySuccesses1797000900000 } from './1797000900000-delivery-successes';
import { MessageCounts1797001000000 } from './1797001000000-message-counts';
import { InboxCounts1797001100000 } from './1797001100000-inbox-counts';
import { ListMembersPartialIndexes1797001200000 } from './1797001200000-list-members-partial-indexes';
import { StatedAudiences1797001300000 } from './1797001300000-stated-audiences';
import { MembershipsKeyedLookups1797001400000 } from './1797001400000-memberships-keyed-lookups';
import { DeliveryCallsLastSuccess1797001500000 } from './1797001500000-delivery-calls-last-success';
import { CallCounts1797001600000 } from './1797001600000-call-counts';
import { DeliveryVerdictsByIdentity1797001700000 } from './1797001700000-delivery-verdicts-by-identity';
import { UserAttributesByIdentity1797001800000 } from './1797001800000-user-attributes-by-identity';
import { DeliveryBuckets1797001900000 } from './1797001900000-delivery-buckets';
import { CallSeconds1797002100000 } from './1797002100000-call-seconds';
import { MembershipsFillFactor1797002000000 } from './1797002000000-memberships-fill-factor';

/** PostgreSQL migrations, oldest first. Generate new ones with `npm run db:generate -- <name>` and add them here. */
export const POSTGRES_MIGRATIONS = [
  InitialSchema1795881130566,
  DeliveryAudit1795881989039,
  StateModelSplit1795988370655,
  SettingsNewestWins1795989050098,
  ListLeaseInFlight1795989915650,
  ErasureRequests1796000230960,
  DriftChecks1796000510900,
  UserAttributes1796001366198,
  AcknowledgedMeansStored1797000000100,
  DriftRepairExtras1797000241500,
  ErasureTombstones1797000300000,
  CreatedLists1797000400000,
  AttributeRecheck1797000500000,
  ListMembersByUser1797000600000,
  ListMemberCounts1797000700000,
  MembershipsByEmailAndAudience1797000800000,
  DeliverySuccesses1797000900000,
  MessageCounts1797001000000,
  InboxCounts1797001100000,
  ListMembersPartialIndexes1797001200000,
  StatedAudiences1797001300000,
  MembershipsKeyedLookups1797001400000,
  DeliveryCallsLastSuccess1797001500000,
  CallCounts1797001600000,
  DeliveryVerdictsByIdentity1797001700000,
  UserAttributesByIdentity1797001800000,
  DeliveryBuckets1797001900000,
  MembershipsFillFactor1797002000000,
  CallSeconds1797002100000,
];
