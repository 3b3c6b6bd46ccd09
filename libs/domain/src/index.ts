export * from './account';
export * from './audience-connection';
export * from './membership-change';
export * from './delivery-outcome';
export * from './errors';
