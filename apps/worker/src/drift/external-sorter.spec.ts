import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { ExternalSorter } from './external-sorter';

const collect = async (lines: AsyncIterable<string>): Promise<string[]> => {
  const out: string[] = [];
  for await (const line of lines) out.push(line);
  return out;
};
const ours = () => readdirSync(tmpdir()).filter((name) => name.startsWith('audience-bridge-sorter-spec-'));

describe('ExternalSorter', () => {
  it.each([
    ['everything in memory', 1000],
    ['many runs on disk, merged', 7],
    ['runs of one line', 1],
  ])('gives back every line in string order: %s', async (_name, runLines) => {
    const lines = Array.from({ length: 500 }, (_, i) => `${((i * 7919) % 503).toString(36)}\t${i % 3 === 0 ? 'i' : 'd'}`);
    lines.push('€uro\ti', 'Zed\ti', 'a\ti', 'a\ti', '\u{1F600}\td');
    const sorter = new ExternalSorter('sorter-spec', runLines);
    for (const line of lines) await sorter.add(line);
    expect(sorter.size).toBe(lines.length);
    expect(sorter.runCount).toBe(runLines >= lines.length ? 0 : Math.floor(lines.length / runLines));
    expect(await collect(sorter.sorted())).toEqual([...lines].sort());
    await sorter.dispose();
    expect(ours()).toEqual([]);
  });

  it('removes its files when disposed part way through a merge', async () => {
    const sorter = new ExternalSorter('sorter-spec', 10);
    for (let i = 0; i < 100; i++) await sorter.add(`line-${i}`);
    expect(ours()).toHaveLength(1);
    for await (const line of sorter.sorted()) if (line) break;
    await sorter.dispose();
    expect(ours()).toEqual([]);
    expect(existsSync(tmpdir())).toBe(true);
  });
});
