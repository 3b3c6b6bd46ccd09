import { EMPTY_FILTER, filterParams, FIRST_PAGE, newer, older, pageNumber } from './paging';

describe('cursor paging', () => {
  it('goes older by nextCursor and back newer one page at a time', () => {
    const two = older(FIRST_PAGE, 'c1');
    const three = older(two, 'c2');
    expect([pageNumber(FIRST_PAGE), pageNumber(two), pageNumber(three)]).toEqual([1, 2, 3]);
    expect(three.current).toBe('c2');
    expect(newer(three)).toEqual(two);
    expect(newer(newer(three))).toEqual(FIRST_PAGE);
    expect(newer(FIRST_PAGE)).toBe(FIRST_PAGE);
  });

  it('stays on the last page when there is no next cursor', () => {
    const last = older(FIRST_PAGE, 'c1');
    expect(older(last, null)).toBe(last);
  });
});

describe('filterParams', () => {
  const iso = (local: string) => (local.startsWith('bad') ? undefined : `${local}:00.000Z`);
  it('keeps the filled fields, as /v1/deliveries names them', () => {
    expect(filterParams({ ...EMPTY_FILTER, accountId: ' 1001 ', status: 'failed', from: '2026-11-30T10:00' }, iso)).toEqual({
      params: { accountId: '1001', status: 'failed', from: '2026-11-30T10:00:00.000Z' },
    });
    expect(filterParams(EMPTY_FILTER, iso)).toEqual({ params: {} });
  });

  it.each([
    [{ listId: '12a' }, 'List must be a number (got "12a").'],
    [{ accountId: '-1' }, 'Account must be a number (got "-1").'],
    [{ from: 'bad' }, '"From" is not a date and time.'],
    [{ from: '2026-11-30T12:00', to: '2026-11-30T11:00' }, '"From" must be before "To".'],
  ])('says what is wrong with %j', (patch, error) => {
    expect(filterParams({ ...EMPTY_FILTER, ...patch }, iso)).toEqual({ error });
  });
});
