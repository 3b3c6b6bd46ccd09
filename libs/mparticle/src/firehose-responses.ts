import { DATA_CENTERS, DEFAULT_DATA_CENTER, DEFAULT_USER_ID_FIELD, USER_ID_FIELDS } from '@audience-bridge/domain';
import {
  ATTRIBUTE_TYPES,
  DEFAULT_FIREHOSE_VERSION,
  DEFAULT_LIST_NAME_TEMPLATE,
  DSR_TYPES,
  FIREHOSE_RESPONSE_TYPES,
  ON_AUDIENCE_REMOVE,
  SETTING_IDS,
} from './firehose.constants';
import type { FirehoseEnvelope } from './firehose-messages';

// Builders for the response messages (docs/mparticle-firehose.md §1.4–1.7).
// Every response echoes the request id (allowed by the protocol) and its firehose_version.

export interface ResponseEnvelope {
  type: string;
  id: string;
  timestamp_ms: number;
  firehose_version: string;
}

function envelope(type: string, request: Pick<FirehoseEnvelope, 'id' | 'firehose_version'>, now: number): ResponseEnvelope {
  return { type, id: request.id, timestamp_ms: now, firehose_version: request.firehose_version ?? DEFAULT_FIREHOSE_VERSION };
}

export interface RegistrationOptions {
  /** The version of this integration shown to mParticle. */
  version: string;
  name?: string;
  description?: string;
  /** The partner domain shown with data subject requests. */
  domain?: string;
}

export interface Setting {
  type: 'text' | 'integer' | 'float' | 'boolean';
  id: string;
  name: string;
  description: string;
  visible: boolean;
  required: boolean;
  confidential: boolean;
  default_value?: string;
}

export interface ModuleRegistrationResponse extends ResponseEnvelope {
  sdk_version: string;
  name: string;
  description: string;
  version: string;
  permissions: {
    user_identities: { type: string; encoding: 'raw'; required: boolean }[];
    allow_access_mpid: boolean;
    allow_user_attributes: boolean;
    allow_audience_user_attributes: boolean;
  };
  audience_processing_registration: {
    account_settings: Setting[];
    audience_subscription_settings: Setting[];
  };
  /** Opting in to data subject requests: erasure only, with the same account settings. */
  dsr_processing_registration: {
    account_settings: Setting[];
    supported_dsr_types: string[];
    domain: string;
  };
}

/** Registration of Iterable audience processing: the settings mParticle shows and the identities it shares. */
export function buildRegistrationResponse(
  request: Pick<FirehoseEnvelope, 'id' | 'firehose_version'>,
  options: RegistrationOptions,
  now = Date.now(),
): ModuleRegistrationResponse {
  return {
    ...envelope(FIREHOSE_RESPONSE_TYPES.registration, request, now),
    sdk_version: DEFAULT_FIREHOSE_VERSION,
    name: options.name ?? 'audience-bridge (Iterable)',
    description: options.description ?? 'Keeps Iterable static lists in step with mParticle audiences: ordered, batched, retried and audited.',
    version: options.version,
    permissions: {
      user_identities: [
        { type: 'email', encoding: 'raw', required: false },
        { type: 'customer', encoding: 'raw', required: false },
      ],
      allow_access_mpid: true,
      // Only the attributes an account lists in forwardAttributes are kept and sent (none by default).
      allow_user_attributes: true,
      allow_audience_user_attributes: true,
    },
    audience_processing_registration: {
      account_settings: ACCOUNT_SETTINGS,
      audience_subscription_settings: [
        {
          type: 'integer',
          id: SETTING_IDS.listId,
          name: 'List ID',
          description:
            'The ID of the Iterable static list to populate with the users of this audience. Leave it empty to have a list created, named after the audience.',
          visible: true,
          required: false,
          confidential: false,
        },
      ],
    },
    dsr_processing_registration: { account_settings: ACCOUNT_SETTINGS, supported_dsr_types: [...DSR_TYPES], domain: options.domain ?? 'audience-bridge' },
  };
}

/** The account settings both registrations show mParticle. */
const ACCOUNT_SETTINGS: Setting[] = [
  {
    type: 'text',
    id: SETTING_IDS.apiKey,
    name: 'API Key',
    description: 'A server-side Iterable API key of the project that holds the lists.',
    visible: true,
    required: true,
    confidential: true,
  },
  {
    type: 'text',
    id: SETTING_IDS.userIdField,
    name: 'User ID',
    description: `Which identity becomes the Iterable userId: ${USER_ID_FIELDS.join(' or ')}.`,
    visible: true,
    required: false,
    confidential: false,
    default_value: DEFAULT_USER_ID_FIELD,
  },
  {
    type: 'text',
    id: SETTING_IDS.dataCenter,
    name: 'Data Center',
    description: `The Iterable data center of the project: ${DATA_CENTERS.join(' or ')}.`,
    visible: true,
    required: false,
    confidential: false,
    default_value: DEFAULT_DATA_CENTER,
  },
  {
    type: 'text',
    id: SETTING_IDS.listNameTemplate,
    name: 'Name of created lists',
    description: 'For audiences without a List ID, the name of the list created for them: {audienceName}, {audienceId} and {accountId} are filled in.',
    visible: true,
    required: false,
    confidential: false,
    default_value: DEFAULT_LIST_NAME_TEMPLATE,
  },
  {
    type: 'text',
    id: SETTING_IDS.onAudienceRemove,
    name: 'When an audience is disconnected',
    description: `What happens to a list audience-bridge created for it: ${ON_AUDIENCE_REMOVE.join(' or ')} (lists you named are always kept).`,
    visible: true,
    required: false,
    confidential: false,
    default_value: 'keep',
  },
  {
    type: 'text',
    id: SETTING_IDS.forwardAttributes,
    name: 'User attributes to forward',
    description:
      `Audience user attributes sent to Iterable as user fields, as key:type separated by commas (${ATTRIBUTE_TYPES.join(', ')}), ` +
      `e.g. plan:string, ltv:number. Empty: none.`,
    visible: true,
    required: false,
    confidential: false,
    default_value: '',
  },
];

export interface AudienceSubscriptionResponse extends ResponseEnvelope {
  audience_subscription_settings?: Record<string, string>;
}

export function buildAudienceSubscriptionResponse(
  request: Pick<FirehoseEnvelope, 'id' | 'firehose_version'>,
  settings?: Record<string, string>,
  now = Date.now(),
): AudienceSubscriptionResponse {
  const response: AudienceSubscriptionResponse = envelope(FIREHOSE_RESPONSE_TYPES.audienceSubscription, request, now);
  if (settings && Object.keys(settings).length > 0) response.audience_subscription_settings = settings;
  return response;
}

export interface AudienceMembershipChangeResponse extends ResponseEnvelope {
  suspend_subscription: boolean;
}

/** `suspendSubscription: true` asks mParticle to fault the connection until the customer resumes it. */
export function buildAudienceMembershipChangeResponse(
  request: Pick<FirehoseEnvelope, 'id' | 'firehose_version'>,
  suspendSubscription: boolean,
  now = Date.now(),
): AudienceMembershipChangeResponse {
  return { ...envelope(FIREHOSE_RESPONSE_TYPES.audienceMembershipChange, request, now), suspend_subscription: suspendSubscription };
}

export type DsrProcessingResponse = ResponseEnvelope;

/** A bare envelope: 200 means the request is stored and will be processed (the protocol defines no status). */
export function buildDsrProcessingResponse(request: Pick<FirehoseEnvelope, 'id' | 'firehose_version'>, now = Date.now()): DsrProcessingResponse {
  return envelope(FIREHOSE_RESPONSE_TYPES.dataSubjectRequest, request, now);
}
