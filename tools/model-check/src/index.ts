export * from './history';
export * from './model';
export * from './run';
export * from './shrink';
export * from './regressions';
