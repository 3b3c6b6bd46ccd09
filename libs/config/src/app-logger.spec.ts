import { logLevelsFrom } from './app-logger';

describe('logLevelsFrom', () => {
  it.each([
    ['error', ['fatal', 'error']],
    ['log', ['fatal', 'error', 'warn', 'log']],
    ['verbose', ['fatal', 'error', 'warn', 'log', 'debug', 'verbose']],
  ] as const)('%s prints %j', (level, levels) => {
    expect(logLevelsFrom(level)).toEqual(levels);
  });
});
