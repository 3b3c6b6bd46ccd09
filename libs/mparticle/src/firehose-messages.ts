import 'reflect-metadata';
import { Type } from 'class-transformer';
import { Allow, IsArray, IsIn, IsInt, IsNotEmpty, IsObject, IsOptional, IsString, Max, MaxLength, Min, ValidateNested } from 'class-validator';
import {
  AUDIENCE_MEMBERSHIP_ACTIONS,
  DSR_REGULATIONS,
  DSR_TYPES,
  AudienceMembershipAction,
  FIREHOSE_REQUEST_TYPES,
  IDENTITY_ENCODINGS,
  IdentityEncoding,
  SUBSCRIPTION_ACTIONS,
  SubscriptionAction,
} from './firehose.constants';
import { HasNoNul, HasValidListId, IsMpid, IsNotFarFuture, IsSettingsMap, IsSubjectIdentities, MAX_ID } from './firehose-validators';

// Classes for the Firehose requests this partner receives (docs/mparticle-firehose.md §1.2–1.6).
// Lenient where mParticle is (unknown fields are dropped, settings are strings, most lists optional),
// strict where it matters (types, actions, ids, encodings, list ids).

/** Fields every Firehose message carries. */
export class FirehoseEnvelope {
  @IsString()
  @IsNotEmpty()
  type!: string;

  /** Stored with every change it carries (128 characters at most). */
  @IsString()
  @IsNotEmpty()
  @MaxLength(128)
  @HasNoNul()
  id!: string;

  @IsInt()
  @Min(0)
  @Max(MAX_ID)
  @IsNotFarFuture()
  timestamp_ms!: number;

  /** Required by the SDK model, but old payloads omit it. */
  @IsOptional()
  @IsString()
  firehose_version?: string;
}

export class FirehoseAccount {
  @IsInt()
  @Min(0)
  @Max(MAX_ID)
  account_id!: number;

  @IsOptional()
  @IsSettingsMap()
  account_settings?: Record<string, string | null>;
}

export class ModuleRegistrationRequest extends FirehoseEnvelope {
  declare type: typeof FIREHOSE_REQUEST_TYPES.registration;

  @IsOptional()
  @ValidateNested()
  @Type(() => FirehoseAccount)
  account?: FirehoseAccount;
}

export class AudienceSubscriptionRequest extends FirehoseEnvelope {
  declare type: typeof FIREHOSE_REQUEST_TYPES.audienceSubscription;

  @ValidateNested()
  @IsObject()
  @Type(() => FirehoseAccount)
  account!: FirehoseAccount;

  @IsInt()
  @Min(0)
  @Max(MAX_ID)
  audience_id!: number;

  @IsString()
  @MaxLength(255)
  @HasNoNul()
  audience_name!: string;

  @IsOptional()
  @IsString()
  audience_description?: string;

  @IsOptional()
  @IsSettingsMap()
  @HasValidListId()
  audience_subscription_settings?: Record<string, string | null>;

  @IsOptional()
  @IsSettingsMap()
  previous_audience_subscription_settings?: Record<string, string | null>;

  @IsIn(SUBSCRIPTION_ACTIONS)
  action!: SubscriptionAction;
}

/** A user, device or partner identity. Only `raw` values may ever be sent to Iterable. */
export class FirehoseIdentity {
  @IsString()
  @IsNotEmpty()
  type!: string;

  @IsIn(IDENTITY_ENCODINGS)
  encoding!: IdentityEncoding;

  @IsString()
  @HasNoNul()
  value!: string;
}

/** Shared audience user attributes: tolerated (the official sample even has `{}`), never forwarded. */
export class FirehoseUserAttribute {
  @Allow()
  key?: unknown;

  @Allow()
  value?: unknown;

  @Allow()
  list_value?: unknown;

  @Allow()
  action?: unknown;
}

/** An audience entry of the legacy (SDK < 2.0) `added_audiences` / `removed_audiences` form: no action. */
export class FirehoseLegacyAudience {
  @IsInt()
  @Min(0)
  @Max(MAX_ID)
  audience_id!: number;

  @IsOptional()
  @IsString()
  @MaxLength(255)
  @HasNoNul()
  audience_name?: string;

  /**
   * A `listId` that is not a positive integer does not refuse the message: that audience's changes are held
   * like those of an audience that names no list (visible in /v1/connections), and the rest is stored.
   */
  @IsOptional()
  @IsSettingsMap()
  audience_subscription_settings?: Record<string, string | null>;
}

export class FirehoseAudience extends FirehoseLegacyAudience {
  @IsIn(AUDIENCE_MEMBERSHIP_ACTIONS)
  action!: AudienceMembershipAction;

  @IsOptional()
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => FirehoseUserAttribute)
  user_attributes?: FirehoseUserAttribute[];
}

export class FirehoseUserProfile {
  @IsOptional()
  @IsMpid()
  mpid?: string;

  @IsOptional()
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => FirehoseIdentity)
  user_identities?: FirehoseIdentity[];

  @IsOptional()
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => FirehoseIdentity)
  device_identities?: FirehoseIdentity[];

  @IsOptional()
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => FirehoseIdentity)
  partner_identities?: FirehoseIdentity[];

  @IsOptional()
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => FirehoseAudience)
  audiences?: FirehoseAudience[];

  @IsOptional()
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => FirehoseLegacyAudience)
  added_audiences?: FirehoseLegacyAudience[];

  @IsOptional()
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => FirehoseLegacyAudience)
  removed_audiences?: FirehoseLegacyAudience[];
}

export class AudienceMembershipChangeRequest extends FirehoseEnvelope {
  declare type: typeof FIREHOSE_REQUEST_TYPES.audienceMembershipChange;

  @ValidateNested()
  @IsObject()
  @Type(() => FirehoseAccount)
  account!: FirehoseAccount;

  /** Absent in keep-alive (verification) requests. */
  @IsOptional()
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => FirehoseUserProfile)
  user_profiles?: FirehoseUserProfile[];
}

/** A data subject request (docs/mparticle-firehose.md §1.7): answered 200 once stored, processed by the worker. */
export class DsrProcessingRequest extends FirehoseEnvelope {
  declare type: typeof FIREHOSE_REQUEST_TYPES.dataSubjectRequest;

  @ValidateNested()
  @IsObject()
  @Type(() => FirehoseAccount)
  account!: FirehoseAccount;

  /** The OpenDSR request id: repeats of one request are one erasure. */
  @IsString()
  @IsNotEmpty()
  @MaxLength(128)
  @HasNoNul()
  subject_request_id!: string;

  @IsIn(DSR_TYPES)
  subject_request_type!: (typeof DSR_TYPES)[number];

  @IsOptional()
  @IsIn(DSR_REGULATIONS)
  regulation?: (typeof DSR_REGULATIONS)[number];

  @IsOptional()
  @IsString()
  submitted_time?: string;

  @IsOptional()
  @IsString()
  api_version?: string;

  @IsSubjectIdentities()
  subject_identities!: Record<string, { encoding: string; value: string }>;
}

export type FirehoseRequest = ModuleRegistrationRequest | AudienceSubscriptionRequest | AudienceMembershipChangeRequest | DsrProcessingRequest;
