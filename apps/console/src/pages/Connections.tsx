import { useQueries, useQuery, useQueryClient } from '@tanstack/react-query';
import { createColumnHelper, createSortedRowModel, rowSortingFeature, sortFn_alphanumeric, tableFeatures, useTable } from '@tanstack/react-table';
import { useMemo, useState } from 'react';
import { request } from '../api';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { ConnectHelp, EmptyState, ErrorNotice, LiveStamp, StatusBadge } from '../components/common';
import { ReplayDialog } from '../components/ReplayDialog';
import { driftSummary, formatAgo, formatDuration, formatNumber, formatTime } from '../format';
import type { ConnectionRow, Connections as ConnectionsAnswer, DriftReport, DriftReports } from '../types';

export const CONNECTIONS_REFRESH_MS = 5000;

const features = tableFeatures({ rowSortingFeature, sortedRowModel: createSortedRowModel(), sortFns: { alphanumeric: sortFn_alphanumeric } });
const helper = createColumnHelper<typeof features, ConnectionRow>();
const STATUS_ORDER: Record<ConnectionRow['status'], number> = { suspended: 0, held: 1, 'dry-run': 2, active: 3, removed: 4 };

type Pending = { kind: 'dry-run'; row: ConnectionRow; on: boolean } | { kind: 'replay'; row: ConnectionRow } | null;

export function Connections() {
  const client = useQueryClient();
  const connections = useQuery({
    queryKey: ['connections'],
    queryFn: () => request<ConnectionsAnswer>('/v1/connections', { what: 'Loading the connections' }),
    refetchInterval: CONNECTIONS_REFRESH_MS,
  });
  // The newest drift check of each list, one request per account shown.
  const accountIds = [...new Set((connections.data?.items ?? []).map((r) => r.accountId))];
  const drift = useQueries({
    queries: accountIds.map((accountId) => ({
      queryKey: ['drift', accountId],
      queryFn: () => request<DriftReports>(`/v1/accounts/${accountId}/drift-checks`, { what: 'Loading drift checks' }),
      refetchInterval: CONNECTIONS_REFRESH_MS,
    })),
  });
  const driftByList = new Map<string, DriftReport>();
  for (const answer of drift) for (const report of answer.data?.items ?? []) driftByList.set(`${report.accountId}:${report.listId}`, report);
  const driftKey = drift.map((d) => d.dataUpdatedAt).join(',');
  const [pending, setPending] = useState<Pending>(null);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);

  const act = async (work: () => Promise<unknown>, done: string) => {
    setBusy(true);
    setError(null);
    setMessage(null);
    try {
      await work();
      setMessage(done);
      await client.invalidateQueries();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
      setPending(null);
    }
  };

  const resume = (row: ConnectionRow) =>
    act(
      async () => {
        if (row.connectionStatus === 'suspended')
          await request(`/v1/accounts/${row.accountId}/audiences/${row.audienceId}/resume`, { method: 'POST', what: 'Resuming the connection' });
        if (row.accountStatus === 'suspended') await request(`/v1/accounts/${row.accountId}/resume`, { method: 'POST', what: 'Resuming the account' });
      },
      `Resumed ${row.suspendedBy === 'account' ? `account ${row.accountId}` : `"${row.audienceName}"`}: its lists are being brought to the newest state.`,
    );

  const checkDrift = (row: ConnectionRow) =>
    act(
      () =>
        request(`/v1/accounts/${row.accountId}/lists/${row.listId}/drift-check`, { method: 'POST', body: { repair: false }, what: 'Starting a drift check' }),
      `Drift check of list ${row.listId} started (report only): its result shows in the Drift column.`,
    );

  const setDryRun = (row: ConnectionRow, on: boolean) =>
    act(
      () => request(`/v1/accounts/${row.accountId}`, { method: 'PUT', body: { dryRun: on }, what: 'Changing dry run' }),
      on
        ? `Dry run is on for account ${row.accountId}: calls are recorded, not sent.`
        : `Dry run is off for account ${row.accountId}: its lists are being brought to the newest state.`,
    );

  const columns = useMemo(
    () =>
      helper.columns([
        helper.accessor('accountId', { header: 'Account', sortFn: 'alphanumeric' }),
        helper.accessor((r) => r.audienceName || String(r.audienceId), {
          id: 'audience',
          header: 'Audience',
          sortFn: 'alphanumeric',
          cell: (info) => (
            <>
              {info.row.original.audienceName || <em>unnamed</em>} <span className="muted">#{info.row.original.audienceId}</span>
            </>
          ),
        }),
        helper.accessor((r) => r.listId ?? -1, { id: 'list', header: 'Iterable list', cell: (info) => info.row.original.listId ?? <em>none</em> }),
        helper.accessor((r) => STATUS_ORDER[r.status], {
          id: 'status',
          header: 'Status',
          cell: (info) => {
            const r = info.row.original;
            return (
              <>
                <StatusBadge status={r.status}>{r.status === 'dry-run' ? 'dry run' : r.status}</StatusBadge>
                {r.failing && <StatusBadge status="retrying">retrying</StatusBadge>}
                {r.reason && <div className="reason">{r.suspendedBy === 'account' ? `account: ${r.reason}` : r.reason}</div>}
                {r.failing?.lastError && <div className="reason">last error: {r.failing.lastError}</div>}
              </>
            );
          },
        }),
        helper.accessor((r) => (r.lastSuccessAt ? Date.parse(r.lastSuccessAt) : 0), {
          id: 'lastSuccess',
          header: 'Last delivery',
          cell: (info) => {
            const at = info.row.original.lastSuccessAt;
            return at ? (
              <time dateTime={at} title={formatTime(at)}>
                {formatAgo(at)}
              </time>
            ) : (
              'never'
            );
          },
        }),
        helper.accessor((r) => r.last24h.adds, { id: 'adds', header: 'Added 24 h', cell: (info) => formatNumber(info.getValue()) }),
        helper.accessor((r) => r.last24h.removes, { id: 'removes', header: 'Removed 24 h', cell: (info) => formatNumber(info.getValue()) }),
        helper.accessor((r) => r.last24h.failed, { id: 'failed', header: 'Refused 24 h', cell: (info) => formatNumber(info.getValue()) }),
        helper.accessor('pending', {
          header: 'Waiting',
          cell: (info) => {
            const r = info.row.original;
            return r.pending ? `${formatNumber(r.pending)} (${formatDuration(r.oldestPendingAgeMs)})` : '0';
          },
        }),
        helper.accessor('held', { header: 'Held', cell: (info) => formatNumber(info.getValue()) }),
        helper.display({
          id: 'drift',
          header: 'Drift',
          cell: (info) => {
            const r = info.row.original;
            const report = r.listId === null ? undefined : driftByList.get(`${r.accountId}:${r.listId}`);
            if (!report) return <span className="muted">not checked</span>;
            if (report.state === 'running') return <span>checking{report.phase ? ` (${report.phase})` : ''}…</span>;
            if (report.state === 'failed') return <span className="reason">check failed: {report.error}</span>;
            const when = report.checkedAt ?? report.finishedAt;
            return (
              <span>
                {driftSummary(report)}
                {when && <span className="muted"> · {formatAgo(when)}</span>}
              </span>
            );
          },
        }),
        helper.display({
          id: 'actions',
          header: 'Actions',
          cell: (info) => {
            const r = info.row.original;
            const name = `"${r.audienceName || r.audienceId}" of account ${r.accountId}`;
            return (
              <div className="actions">
                {(r.connectionStatus === 'suspended' || r.accountStatus === 'suspended') && (
                  <button type="button" className="primary" disabled={busy} onClick={() => void resume(r)} aria-label={`Resume ${name}`}>
                    Resume
                  </button>
                )}
                {r.status !== 'removed' && (
                  <button
                    type="button"
                    disabled={busy}
                    onClick={() => setPending({ kind: 'dry-run', row: r, on: !r.dryRun })}
                    aria-label={`Turn dry run ${r.dryRun ? 'off' : 'on'} for account ${r.accountId}`}
                  >
                    Dry run {r.dryRun ? 'off' : 'on'}
                  </button>
                )}
                {r.listId !== null && r.status !== 'removed' && (
                  <button type="button" disabled={busy} onClick={() => void checkDrift(r)} aria-label={`Check list ${r.listId} of ${name} for drift`}>
                    Check drift
                  </button>
                )}
                {r.listId !== null && (
                  <button type="button" disabled={busy} onClick={() => setPending({ kind: 'replay', row: r })} aria-label={`Replay failed members of ${name}`}>
                    Replay failed{r.failedMembers ? ` (${formatNumber(r.failedMembers)})` : ''}
                  </button>
                )}
              </div>
            );
          },
        }),
      ]),
    // the action buttons read `busy` and the drift column the newest reports (`driftKey`); the handlers only close over stable setters and the query client
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [busy, driftKey],
  );

  const data = connections.data?.items ?? EMPTY;
  const table = useTable({ features, columns, data, initialState: { sorting: [{ id: 'status', desc: false }] } });

  return (
    <main id="main" tabIndex={-1}>
      <div className="page-head">
        <h1>Connections</h1>
        <LiveStamp updatedAt={connections.dataUpdatedAt} everyMs={CONNECTIONS_REFRESH_MS} fetching={connections.isFetching} />
      </div>
      <p className="muted">One row per mParticle account → audience → Iterable list. Suspended and held first; click a column heading to sort.</p>
      <ErrorNotice error={connections.error ?? error} />
      {message && (
        <p className="notice notice-ok" role="status">
          {message}
        </p>
      )}
      {connections.data && data.length === 0 && (
        <EmptyState title="No connections yet">
          <ConnectHelp />
        </EmptyState>
      )}
      {data.length > 0 && (
        <div className="table-scroll">
          <table className="data stack" aria-label="Connections">
            <thead>
              {table.getHeaderGroups().map((group) => (
                <tr key={group.id}>
                  {group.headers.map((header) => {
                    const sorted = header.column.getIsSorted();
                    const canSort = header.column.getCanSort();
                    return (
                      <th key={header.id} scope="col" aria-sort={sorted === 'asc' ? 'ascending' : sorted === 'desc' ? 'descending' : undefined}>
                        {canSort ? (
                          <button type="button" className="sort" onClick={header.column.getToggleSortingHandler()}>
                            <table.FlexRender header={header} />
                            <span aria-hidden="true">{sorted === 'asc' ? ' ▲' : sorted === 'desc' ? ' ▼' : ''}</span>
                          </button>
                        ) : (
                          <table.FlexRender header={header} />
                        )}
                      </th>
                    );
                  })}
                </tr>
              ))}
            </thead>
            <tbody>
              {table.getRowModel().rows.map((row) => (
                <tr key={row.id} data-testid={`connection-${row.original.accountId}-${row.original.audienceId}`} className={`row-${row.original.status}`}>
                  {row.getAllCells().map((cell) => (
                    <td key={cell.id} data-label={typeof cell.column.columnDef.header === 'string' ? cell.column.columnDef.header : ''}>
                      <table.FlexRender cell={cell} />
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {connections.isPending && <p aria-live="polite">Loading…</p>}

      {pending?.kind === 'dry-run' && (
        <ConfirmDialog
          title={`Turn dry run ${pending.on ? 'on' : 'off'} for account ${pending.row.accountId}?`}
          confirmLabel={`Turn dry run ${pending.on ? 'on' : 'off'}`}
          busy={busy}
          onCancel={() => setPending(null)}
          onConfirm={() => void setDryRun(pending.row, pending.on)}
        >
          <p>
            {pending.on
              ? 'Every audience of this account stops calling Iterable: ' +
                'calls are recorded as dry-run deliveries with each user’s would-be verdict, and Iterable is not touched.'
              : 'Every list of this account is brought to the newest state: the changes recorded during the dry run go to Iterable now.'}
          </p>
        </ConfirmDialog>
      )}
      {pending?.kind === 'replay' && (
        <ReplayDialog
          filter={{ accountId: pending.row.accountId, audienceId: pending.row.audienceId }}
          label={`Account ${pending.row.accountId} · "${pending.row.audienceName || pending.row.audienceId}" → list ${pending.row.listId}`}
          onClose={() => {
            setPending(null);
            void client.invalidateQueries();
          }}
        />
      )}
    </main>
  );
}

const EMPTY: ConnectionRow[] = [];
