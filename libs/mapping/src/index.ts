export * from './identity';
export * from './resolve-subscriber';
export * from './map-membership-changes';
export * from './coalesce';
export * from './batching';
export * from './reconcile';
export * from './settle-call';
export * from './erasure-subject';
