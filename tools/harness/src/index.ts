export * from './app-process';
export * from './stack';
export * from './scenario';
export * from './wait-for';
