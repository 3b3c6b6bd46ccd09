/** Every error the domain names. Codes are stable: clients and logs may match on them. */
export enum DomainErrorCode {
  InvalidMessage = 'INVALID_MESSAGE',
  UnsupportedMessageType = 'UNSUPPORTED_MESSAGE_TYPE',
  InvalidSettings = 'INVALID_SETTINGS',
  AccountNotFound = 'ACCOUNT_NOT_FOUND',
  ConnectionNotFound = 'CONNECTION_NOT_FOUND',
  InvalidConfiguration = 'INVALID_CONFIGURATION',
}

/** A problem described in the domain's own words, with a code that survives serialization. */
export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    readonly details?: readonly { path: string; message: string }[],
  ) {
    super(message);
    this.name = 'DomainError';
  }
}
