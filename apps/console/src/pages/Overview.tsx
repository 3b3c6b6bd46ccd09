import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { query, request } from '../api';
import { attentionItems } from '../attention';
import { ConnectHelp, EmptyState, ErrorNotice, LiveStamp } from '../components/common';
import { TrafficChart } from '../components/TrafficChart';
import { formatDuration, formatNumber, formatRate } from '../format';
import { Link } from '../router';
import type { Connections, Summary, SummaryWindow } from '../types';

export const OVERVIEW_REFRESH_MS = 5000;

export function Overview() {
  const [window, setWindow] = useState<SummaryWindow>('hour');
  const summary = useQuery({
    queryKey: ['summary', window],
    queryFn: () => request<Summary>(`/v1/summary${query({ window })}`, { what: 'Loading the summary' }),
    refetchInterval: OVERVIEW_REFRESH_MS,
  });
  const connections = useQuery({
    queryKey: ['connections'],
    queryFn: () => request<Connections>('/v1/connections', { what: 'Loading the connections' }),
    refetchInterval: OVERVIEW_REFRESH_MS,
  });
  const s = summary.data;
  const rows = connections.data?.items;
  const attention = rows ? attentionItems(rows) : [];

  return (
    <main id="main" tabIndex={-1}>
      <div className="page-head">
        <h1>Overview</h1>
        <LiveStamp updatedAt={summary.dataUpdatedAt} everyMs={OVERVIEW_REFRESH_MS} fetching={summary.isFetching} />
      </div>
      <ErrorNotice error={summary.error ?? connections.error} />

      {rows && rows.length === 0 && (
        <EmptyState title="No connections yet">
          <ConnectHelp />
        </EmptyState>
      )}

      {attention.length > 0 && (
        <section aria-labelledby="attention-title" className="attention">
          <h2 id="attention-title">Needs attention ({attention.length})</h2>
          <ul>
            {attention.map((a) => (
              <li key={a.key} className={`attention-${a.severity}`}>
                <strong>{a.title}</strong>
                <span>{a.detail}</span>
              </li>
            ))}
          </ul>
          <p>
            <Link to="/connections">Go to Connections</Link> to resume, turn dry run off or replay.
          </p>
        </section>
      )}
      {rows && rows.length > 0 && attention.length === 0 && (
        <p className="notice notice-ok" role="status">
          Every connection is active and delivering: nothing suspended, held or retrying.
        </p>
      )}

      {s && (
        <>
          <section aria-label="Backlog and rate" className="tiles">
            <Tile label="Pending changes" value={formatNumber(s.pending)} hint="members waiting for Iterable" testId="tile-pending" />
            <Tile
              label="Lag"
              value={s.oldestPendingAgeMs === null ? 'none' : formatDuration(s.oldestPendingAgeMs)}
              hint="age of the oldest pending change"
              testId="tile-lag"
            />
            <Tile
              label="Calls per second"
              value={`${formatRate(s.rate.lastMinutePerSecond)} / ${formatRate(s.rate.limitPerSecond)}`}
              hint={
                `last minute vs ITERABLE_REQUESTS_PER_SECOND; ` +
                `peak ${s.rate.peakPerSecond}/s in one second${s.rate.peakAccountId === null ? '' : ` (account ${s.rate.peakAccountId})`}`
              }
              testId="tile-rate"
              meter={{ value: s.rate.lastMinutePerSecond, max: s.rate.limitPerSecond }}
            />
            <Tile label="Held" value={formatNumber(s.heldWithoutList)} hint="changes of audiences without a list" testId="tile-held" />
            <Tile
              label="Lists retrying"
              value={formatNumber(s.failingLists)}
              hint={s.failingSince ? `since ${new Date(s.failingSince).toLocaleTimeString()}` : 'after transient errors'}
              testId="tile-failing"
            />
          </section>

          <section aria-labelledby="traffic-title" className="panel">
            <div className="panel-head">
              <h2 id="traffic-title">Deliveries over {window === 'hour' ? 'the last hour' : 'the last day'}</h2>
              <div role="group" aria-label="Window" className="segmented">
                {(['hour', 'day'] as const).map((w) => (
                  <button key={w} type="button" aria-pressed={window === w} onClick={() => setWindow(w)}>
                    Last {w}
                  </button>
                ))}
              </div>
            </div>
            <dl className="totals" data-testid="totals">
              <div>
                <dt>Added</dt>
                <dd data-testid="total-adds">{formatNumber(s.totals.adds)}</dd>
              </div>
              <div>
                <dt>Removed</dt>
                <dd data-testid="total-removes">{formatNumber(s.totals.removes)}</dd>
              </div>
              <div>
                <dt>Refused</dt>
                <dd data-testid="total-failed">{formatNumber(s.totals.failed)}</dd>
              </div>
              <div>
                <dt>Iterable calls</dt>
                <dd data-testid="total-calls">{formatNumber(s.totals.calls)}</dd>
              </div>
              <div>
                <dt>Calls not 200</dt>
                <dd>{formatNumber(s.totals.failedCalls)}</dd>
              </div>
              <div>
                <dt>Dry-run calls</dt>
                <dd>{formatNumber(s.totals.dryRunCalls)}</dd>
              </div>
            </dl>
            <TrafficChart summary={s} />
          </section>
        </>
      )}
      {summary.isPending && <p aria-live="polite">Loading…</p>}
    </main>
  );
}

function Tile({ label, value, hint, testId, meter }: { label: string; value: string; hint: string; testId: string; meter?: { value: number; max: number } }) {
  return (
    <div className="tile" data-testid={testId}>
      <span className="tile-label">{label}</span>
      <span className="tile-value">{value}</span>
      {meter && (
        <meter min={0} max={Math.max(meter.max, 0.01)} high={meter.max * 0.9} value={Math.min(meter.value, meter.max)} aria-label={`${label}: ${value}`} />
      )}
      <span className="tile-hint">{hint}</span>
    </div>
  );
}
