export * from './firehose.constants';
export * from './firehose-messages';
export * from './firehose-validators';
export * from './firehose-responses';
export * from './parse-firehose-request';
export * from './profile-audiences';
export * from './message-settings';
export * from './user-attributes';
