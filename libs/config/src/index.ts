export * from './environment';
export * from './environment.module';
export * from './app-logger';
export * from './secrets';
export * from './dependency-state';
export * from './correlation';
