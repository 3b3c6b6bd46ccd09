import { act, fireEvent, render, screen } from '@testing-library/react';
import { tokenStore } from '../api';
import { installFakeFetch } from '../testing/fake-fetch';
import type { ConnectionRow } from '../types';
import { ReplayDialog, replayProgress } from './ReplayDialog';

const connection = (listId: number | null, pending: number, failedMembers: number) => ({ listId, pending, failedMembers }) as ConnectionRow;

describe('replayProgress', () => {
  it('sums waiting and refused members once per replayed list', () => {
    const connections = {
      generatedAt: '',
      items: [connection(100, 4, 2), connection(100, 4, 2), connection(200, 1, 0), connection(300, 9, 9), connection(null, 0, 0)],
    };
    expect(replayProgress(connections, [100, 200])).toEqual({ waiting: 5, refused: 2 });
  });
});

describe('ReplayDialog', () => {
  beforeEach(() => {
    sessionStorage.clear();
    tokenStore.set('admin-token-for-tests');
  });
  afterEach(() => jest.useRealTimers());

  it('shows the preview count, sends nothing until confirmed, then follows the replay to the end', async () => {
    let pending = 3;
    const calls = installFakeFetch(({ method, url, body }) => {
      if (method === 'POST' && url === '/v1/replay')
        return (body as { preview?: boolean }).preview
          ? { status: 200, body: { requeued: 3, lists: 1, listIds: [100], preview: true } }
          : { status: 200, body: { requeued: 3, lists: 1 } };
      if (url === '/v1/connections') return { status: 200, body: { generatedAt: '', items: [connection(100, pending, 1)] } };
      return undefined;
    });
    render(<ReplayDialog filter={{ accountId: 1, audienceId: 10 }} label="Account 1 · VIP" onClose={() => undefined} pollMs={20} />);

    expect((await screen.findByTestId('replay-preview')).textContent).toContain('3 refused members on 1 list (100) will be sent again');
    expect(calls.map((c) => c.body)).toEqual([{ accountId: 1, audienceId: 10, preview: true }]);

    fireEvent.click(screen.getByRole('button', { name: 'Replay 3 members' }));
    expect(await screen.findByText(/3 members sent again; 3 changes still waiting/)).toBeTruthy();
    expect(calls.filter((c) => c.url === '/v1/replay').map((c) => c.body)).toEqual([
      { accountId: 1, audienceId: 10, preview: true },
      { accountId: 1, audienceId: 10 },
    ]);

    await act(async () => {
      pending = 0;
      await new Promise((r) => setTimeout(r, 60));
    });
    expect(await screen.findByText('Done: 3 members sent again; 1 still refused by Iterable.')).toBeTruthy();
    expect(screen.getByRole('progressbar', { name: 'Replay progress' }).getAttribute('value')).toBe('3');
  });

  it('cancelling after the preview replays nothing', async () => {
    const calls = installFakeFetch(({ url }) =>
      url === '/v1/replay' ? { status: 200, body: { requeued: 5, lists: 2, listIds: [1, 2], preview: true } } : undefined,
    );
    const onClose = jest.fn();
    render(<ReplayDialog filter={{ accountId: 1 }} label="Account 1" onClose={onClose} />);
    await screen.findByTestId('replay-preview');
    fireEvent.click(screen.getByRole('button', { name: 'Cancel' }));
    expect(onClose).toHaveBeenCalled();
    expect(calls).toHaveLength(1);
  });

  it('says so when there is nothing to replay, and offers no replay button', async () => {
    installFakeFetch(() => ({ status: 200, body: { requeued: 0, lists: 0, listIds: [], preview: true } }));
    render(<ReplayDialog filter={{ accountId: 1 }} label="Account 1" onClose={() => undefined} />);
    expect(await screen.findByText(/Nothing to replay/)).toBeTruthy();
    expect(screen.queryByRole('button', { name: /^Replay/ })).toBeNull();
  });

  it('shows what went wrong when the preview is refused', async () => {
    installFakeFetch(() => ({ status: 500, body: { statusCode: 500, errorId: 'e-1' } }));
    render(<ReplayDialog filter={{ accountId: 1 }} label="Account 1" onClose={() => undefined} />);
    expect((await screen.findByRole('alert')).textContent).toContain(
      "Counting the failed members failed: the API answered 500. Quote error id e-1 to whoever reads the API's logs.",
    );
  });
});
