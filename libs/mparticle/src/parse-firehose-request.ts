import { ClassConstructor, plainToInstance } from 'class-transformer';
import { ValidationError, validateSync } from 'class-validator';
import { DomainError, DomainErrorCode } from '@audience-bridge/domain';
import { FIREHOSE_REQUEST_TYPES, FirehoseRequestType, UNSUPPORTED_REQUEST_TYPES } from './firehose.constants';
import {
  AudienceMembershipChangeRequest,
  AudienceSubscriptionRequest,
  DsrProcessingRequest,
  FirehoseRequest,
  ModuleRegistrationRequest,
} from './firehose-messages';
import { validAsIs } from './validation-plan';

export interface ValidationIssue {
  /** Where in the message, e.g. `user_profiles[0].audiences[1].action`. */
  path: string;
  message: string;
}

const CLASS_BY_TYPE: Record<FirehoseRequestType, ClassConstructor<FirehoseRequest>> = {
  [FIREHOSE_REQUEST_TYPES.registration]: ModuleRegistrationRequest,
  [FIREHOSE_REQUEST_TYPES.audienceSubscription]: AudienceSubscriptionRequest,
  [FIREHOSE_REQUEST_TYPES.audienceMembershipChange]: AudienceMembershipChangeRequest,
  [FIREHOSE_REQUEST_TYPES.dataSubjectRequest]: DsrProcessingRequest,
};

function isRequestType(type: unknown): type is FirehoseRequestType {
  return typeof type === 'string' && Object.prototype.hasOwnProperty.call(CLASS_BY_TYPE, type);
}

/**
 * Validates a Firehose request body and returns it with the shape of the class of its `type`, unknown fields
 * dropped (a valid body is returned as it is, plain objects, see `validAsIs`; otherwise class instances).
 * Throws a `DomainError` (`INVALID_MESSAGE`, or `UNSUPPORTED_MESSAGE_TYPE` for event traffic) whose
 * details name every invalid field by path. Nothing is half-accepted: one bad field rejects the message.
 */
export function parseFirehoseRequest(body: unknown): FirehoseRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalid([{ path: '(body)', message: '(body) must be a JSON object' }]);
  }
  const type = (body as { type?: unknown }).type;
  if (!isRequestType(type)) {
    if ((UNSUPPORTED_REQUEST_TYPES as readonly unknown[]).includes(type)) {
      throw new DomainError(DomainErrorCode.UnsupportedMessageType, `${String(type)} is not handled: this partner only processes audiences`, [
        { path: 'type', message: `type ${String(type)} is not handled by an audience integration` },
      ]);
    }
    throw invalid([{ path: 'type', message: `type must be one of: ${Object.keys(CLASS_BY_TYPE).join(', ')}` }]);
  }
  // Valid as it is (the common case): the same rules, without class-transformer's copy and the error tree.
  if (validAsIs(CLASS_BY_TYPE[type], body)) return body as FirehoseRequest;
  const message = plainToInstance(CLASS_BY_TYPE[type], body, { enableImplicitConversion: false });
  const errors = validateSync(message, { whitelist: true, forbidNonWhitelisted: false, forbidUnknownValues: true });
  if (errors.length > 0) throw invalid(flattenValidationErrors(errors), type);
  return message;
}

function invalid(issues: ValidationIssue[], type?: string): DomainError {
  const summary = issues
    .slice(0, 5)
    .map((i) => i.message)
    .join('; ');
  const more = issues.length > 5 ? ` (and ${issues.length - 5} more)` : '';
  return new DomainError(DomainErrorCode.InvalidMessage, `Invalid ${type ?? 'message'}: ${summary}${more}`, issues);
}

/** Turns class-validator's error tree into one issue per failed constraint, each with its full path. */
export function flattenValidationErrors(errors: ValidationError[], parentPath = ''): ValidationIssue[] {
  return errors.flatMap((error) => {
    const path = /^\d+$/.test(error.property) ? `${parentPath}[${error.property}]` : parentPath ? `${parentPath}.${error.property}` : error.property;
    const own = Object.entries(error.constraints ?? {}).map(([name, text]) => {
      const subPath = (error.contexts?.[name] as { subPath?: string } | undefined)?.subPath;
      const fullPath = subPath ? `${path}.${subPath}` : path;
      const rest = text.startsWith(`${error.property} `) ? text.slice(error.property.length + 1) : text;
      return { path: fullPath, message: `${fullPath} ${rest}` };
    });
    return [...own, ...flattenValidationErrors(error.children ?? [], path)];
  });
}
