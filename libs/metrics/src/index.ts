export * from './backlog-gauges';
export * from './attention-gauges';
export * from './process-metrics';
