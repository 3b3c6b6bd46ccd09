/** Message types of the Firehose protocol this service speaks (see docs/mparticle-firehose.md §1.2). */
export const FIREHOSE_REQUEST_TYPES = {
  registration: 'module_registration_request',
  audienceSubscription: 'audience_subscription_request',
  audienceMembershipChange: 'audience_membership_change_request',
  dataSubjectRequest: 'dsr_processing_request',
} as const;
export type FirehoseRequestType = (typeof FIREHOSE_REQUEST_TYPES)[keyof typeof FIREHOSE_REQUEST_TYPES];

/** Types mParticle may send that an audience partner does not handle. */
export const UNSUPPORTED_REQUEST_TYPES = ['event_processing_request'] as const;

export const FIREHOSE_RESPONSE_TYPES = {
  registration: 'module_registration_response',
  audienceSubscription: 'audience_subscription_response',
  audienceMembershipChange: 'audience_membership_change_response',
  dataSubjectRequest: 'dsr_processing_response',
} as const;

/** Data subject request types we process (the only one mParticle defines). */
export const DSR_TYPES = ['erasure'] as const;
export const DSR_REGULATIONS = ['gdpr', 'ccpa', 'unknown'] as const;
/** The subject identities of a data subject request that name a user here (`controller_customer_id` is the `customer` identity). */
export const DSR_IDENTITY_TYPES = { email: 'email', customerId: 'controller_customer_id' } as const;

/** The protocol version we answer with when a request does not name one. */
export const DEFAULT_FIREHOSE_VERSION = '3.2.0';

export const IDENTITY_ENCODINGS = ['raw', 'md5', 'sha1', 'sha256'] as const;
export type IdentityEncoding = (typeof IDENTITY_ENCODINGS)[number];

export const SUBSCRIPTION_ACTIONS = ['add', 'update', 'remove'] as const;
export type SubscriptionAction = (typeof SUBSCRIPTION_ACTIONS)[number];

export const AUDIENCE_MEMBERSHIP_ACTIONS = ['add', 'delete', 'attribute_update'] as const;
export type AudienceMembershipAction = (typeof AUDIENCE_MEMBERSHIP_ACTIONS)[number];

/** Setting ids this integration registers with mParticle (the keys of `account_settings` / `audience_subscription_settings`). */
export const SETTING_IDS = {
  apiKey: 'apiKey',
  userIdField: 'userIdField',
  dataCenter: 'dataCenter',
  listId: 'listId',
  listNameTemplate: 'listNameTemplate',
  onAudienceRemove: 'onAudienceRemove',
  forwardAttributes: 'forwardAttributes',
} as const;

/** What happens to a list audience-bridge created when its audience is disconnected (never to a list the customer named). */
export const ON_AUDIENCE_REMOVE = ['keep', 'delete'] as const;
export type OnAudienceRemove = (typeof ON_AUDIENCE_REMOVE)[number];
/** The name of a list created for an audience; `{audienceName}`, `{audienceId}` and `{accountId}` are filled in. */
export const DEFAULT_LIST_NAME_TEMPLATE = '{audienceName}';

/** The Iterable field types a forwarded user attribute can be given (mParticle sends every value as a string). */
export const ATTRIBUTE_TYPES = ['string', 'number', 'boolean', 'date'] as const;
export type AttributeType = (typeof ATTRIBUTE_TYPES)[number];
/** The actions of an audience user attribute (docs/mparticle-firehose.md §1.6). */
export const USER_ATTRIBUTE_ACTIONS = ['upsert', 'delete'] as const;
