import { deliveryStatus, driftSummary, formatAgo, formatDuration, formatRate, localInputToIso } from './format';

describe('formatDuration', () => {
  it.each([
    [null, '—'],
    [850, '850 ms'],
    [12_400, '12 s'],
    [250_000, '4 min 10 s'],
    [240_000, '4 min'],
    [3 * 3_600_000 + 5 * 60_000, '3 h 5 min'],
    [2 * 86_400_000 + 4 * 3_600_000, '2 d 4 h'],
  ])('%p ms reads %p', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('formatAgo', () => {
  const now = Date.parse('2026-11-30T12:00:00Z');
  it.each([
    [null, 'never'],
    ['2026-11-30T12:00:00Z', 'just now'],
    ['2026-11-30T11:59:20Z', '40 s ago'],
    ['2026-11-30T11:55:00Z', '5 min ago'],
    ['2026-11-30T09:00:00Z', '3 h ago'],
    ['2026-11-30T12:00:03Z', 'in 3 s'],
  ])('%p reads %p', (iso, text) => {
    expect(formatAgo(iso, now)).toBe(text);
  });
});

describe('formatRate', () => {
  it.each([
    [0, '0'],
    [0.05, '0.05'],
    [1.5, '1.5'],
    [10, '10'],
    [12.4, '12'],
  ])('%p per second reads %p', (rate, text) => {
    expect(formatRate(rate)).toBe(text);
  });
});

describe('deliveryStatus', () => {
  it.each([
    [{ dryRun: true, httpStatus: null, failureCount: 0 }, 'dry-run'],
    [{ dryRun: false, httpStatus: 200, failureCount: 0 }, 'success'],
    [{ dryRun: false, httpStatus: 200, failureCount: 2 }, 'partial'],
    [{ dryRun: false, httpStatus: 429, failureCount: 5 }, 'failed'],
    [{ dryRun: false, httpStatus: null, failureCount: 5 }, 'failed'],
  ])('%j is %p, like the status filter of /v1/deliveries', (call, status) => {
    expect(deliveryStatus(call)).toBe(status);
  });
});

describe('localInputToIso', () => {
  it('reads a datetime-local value as local time and refuses nonsense', () => {
    expect(localInputToIso('2026-11-30T12:00')).toBe(new Date(2026, 10, 30, 12, 0).toISOString());
    expect(localInputToIso('')).toBeUndefined();
    expect(localInputToIso('tomorrow')).toBeUndefined();
  });
});

describe('driftSummary', () => {
  it.each([
    [{ missing: 0, extra: 0, repaired: 0 }, 'exact'],
    [{ missing: 2, extra: 1200, repaired: 0, extraKept: 0 }, '2 missing, 1,200 extra'],
    [{ missing: 1, extra: 3, repaired: 2, extraKept: 2, repairExtras: 'ours' }, '1 missing, 3 extra, 2 repaired, 2 extra kept (not added by us)'],
    [{ missing: 0, extra: 2, repaired: 2, extraKept: 0, repairExtras: 'all' }, '0 missing, 2 extra, 2 repaired'],
  ])('%p reads %p', (report, text) => {
    expect(driftSummary(report)).toBe(text);
  });
});
