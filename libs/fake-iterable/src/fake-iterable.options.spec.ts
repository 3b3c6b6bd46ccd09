import { optionsFromEnv } from './fake-iterable.options';

describe('optionsFromEnv', () => {
  it.each([
    ['defaults', {}, { port: 4010, host: '127.0.0.1', projects: [] }],
    ['port 0 picks a free port', { FAKE_ITERABLE_PORT: '0' }, { port: 0, host: '127.0.0.1', projects: [] }],
    ['an explicit port and host', { FAKE_ITERABLE_PORT: '5000', FAKE_ITERABLE_HOST: '0.0.0.0' }, { port: 5000, host: '0.0.0.0', projects: [] }],
    [
      'projects from JSON',
      { FAKE_ITERABLE_PROJECTS: '[{"apiKey":"k","type":"hybrid"}]' },
      { port: 4010, host: '127.0.0.1', projects: [{ apiKey: 'k', type: 'hybrid' }] },
    ],
  ])('%s', (_name, env, expected) => {
    expect(optionsFromEnv(env)).toEqual(expected);
  });

  it.each([
    ['a word', { FAKE_ITERABLE_PORT: 'abc' }, /FAKE_ITERABLE_PORT/],
    ['too big', { FAKE_ITERABLE_PORT: '70000' }, /FAKE_ITERABLE_PORT/],
    ['projects not an array', { FAKE_ITERABLE_PROJECTS: '{}' }, /JSON array/],
  ])('refuses %s', (_name, env, message) => {
    expect(() => optionsFromEnv(env)).toThrow(message);
  });
});
