import { DependencyState, urlWithoutCredentials, waitUntilReachable } from './dependency-state';

describe('DependencyState', () => {
  const logger = () => {
    const lines: string[] = [];
    return { lines, log: (m: string) => lines.push(`log ${m}`), warn: (m: string) => lines.push(`warn ${m}`) };
  };

  it.each([
    ['redis://user:s3cret@cache.internal:6379/0', 'redis://cache.internal:6379/0'],
    ['postgres://postgres:pw%40x@db:5432/ab', 'postgres://db:5432/ab'],
    ['redis://127.0.0.1:6379', 'redis://127.0.0.1:6379'],
    ['sqlite:data/x.sqlite', 'sqlite:data/x.sqlite'],
  ])('shows %s as %s', (url, shown) => {
    expect(urlWithoutCredentials(url)).toBe(shown);
  });

  it('says one line when the dependency goes down and one when it is back, however often it fails', () => {
    const log = logger();
    const state = new DependencyState('redis', 'redis://admin:hunter22@10.0.0.5:6390', log);
    state.up();
    for (let i = 0; i < 50; i++) state.down(Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:6390'), { code: 'ECONNREFUSED' }));
    state.up();
    state.up();
    expect(log.lines).toEqual([
      expect.stringMatching(/^warn redis at redis:\/\/10\.0\.0\.5:6390 is unreachable \(ECONNREFUSED\): is Redis running\? README "Set up"/),
      'log redis at redis://10.0.0.5:6390 is reachable again',
    ]);
    expect(log.lines.join('\n')).not.toContain('hunter22');
  });

  it('waits for a probe that fails twice, with one line down and one line up', async () => {
    const log = logger();
    let tries = 0;
    await waitUntilReachable(
      new DependencyState('database', 'postgres://p:pw@127.0.0.1:5499/x', log),
      async () => {
        if (++tries < 3) throw Object.assign(new Error('nope'), { code: 'ECONNREFUSED' });
      },
      20,
    );
    expect(tries).toBe(3);
    expect(log.lines).toHaveLength(2);
    expect(log.lines[0]).toMatch(/^warn database at postgres:\/\/127\.0\.0\.1:5499\/x is unreachable \(ECONNREFUSED\): is PostgreSQL running\?/);
    expect(log.lines[1]).toBe('log database at postgres://127.0.0.1:5499/x is reachable again');
  });
});
