export * from './app-process';
export * from './stack';
