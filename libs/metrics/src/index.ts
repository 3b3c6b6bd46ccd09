export * from './backlog-gauges';
