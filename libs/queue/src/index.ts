export * from './queue.constants';
export * from './list-sync.producer';
export * from './queue.module';
export * from './redis-watch';
export * from './drift-check.queue';
export * from './orphaned-jobs';
