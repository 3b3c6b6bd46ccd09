import { Bar, CartesianGrid, ComposedChart, Legend, Line, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { formatClock, formatNumber } from '../format';
import type { Bucket, Summary } from '../types';

const COLORS = { adds: '#15803d', removes: '#1d4ed8', failed: '#b91c1c', calls: '#6b7280' };

/** Adds, removes and refused members per bucket (stacked bars) with Iterable calls (line), and the same as a table. */
export function TrafficChart({ summary }: { summary: Summary }) {
  const data = summary.buckets.map((b) => ({ ...b, label: formatClock(b.start) }));
  const busy = summary.buckets.filter((b) => b.calls + b.adds + b.removes + b.failed + b.dryRunCalls > 0);
  const span = summary.window === 'hour' ? 'the last hour, per minute' : 'the last day, per 15 minutes';
  return (
    <figure className="chart">
      <div
        className="chart-canvas"
        role="img"
        aria-label={
          `Iterable traffic over ${span}: ${formatNumber(summary.totals.adds)} added, ${formatNumber(summary.totals.removes)} removed, ` +
          `${formatNumber(summary.totals.failed)} refused, ${formatNumber(summary.totals.calls)} calls`
        }
      >
        <ResponsiveContainer width="100%" height="100%">
          <ComposedChart data={data} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" stroke="#e5e7eb" />
            <XAxis dataKey="label" minTickGap={24} tick={{ fontSize: 12 }} />
            <YAxis yAxisId="members" tick={{ fontSize: 12 }} allowDecimals={false} width={48} />
            <YAxis yAxisId="calls" orientation="right" tick={{ fontSize: 12 }} allowDecimals={false} width={36} />
            <Tooltip />
            <Legend />
            <Bar yAxisId="members" dataKey="adds" name="added" stackId="m" fill={COLORS.adds} isAnimationActive={false} />
            <Bar yAxisId="members" dataKey="removes" name="removed" stackId="m" fill={COLORS.removes} isAnimationActive={false} />
            <Bar yAxisId="members" dataKey="failed" name="refused" stackId="m" fill={COLORS.failed} isAnimationActive={false} />
            <Line yAxisId="calls" dataKey="calls" name="Iterable calls" stroke={COLORS.calls} dot={false} strokeWidth={2} isAnimationActive={false} />
          </ComposedChart>
        </ResponsiveContainer>
      </div>
      <figcaption>Members added, removed and refused by Iterable over {span} (left axis), and Iterable calls (right axis).</figcaption>
      <details>
        <summary>
          The figures as a table ({busy.length} busy {busy.length === 1 ? 'bucket' : 'buckets'})
        </summary>
        <BucketTable buckets={busy} />
      </details>
    </figure>
  );
}

function BucketTable({ buckets }: { buckets: Bucket[] }) {
  if (buckets.length === 0) return <p>No Iterable traffic in this window.</p>;
  return (
    <div className="table-scroll">
      <table className="data">
        <caption className="visually-hidden">Iterable traffic per bucket</caption>
        <thead>
          <tr>
            <th scope="col">From</th>
            <th scope="col">Added</th>
            <th scope="col">Removed</th>
            <th scope="col">Refused</th>
            <th scope="col">Calls</th>
            <th scope="col">Calls not 200</th>
            <th scope="col">Dry-run calls</th>
          </tr>
        </thead>
        <tbody>
          {buckets.map((b) => (
            <tr key={b.start}>
              <th scope="row">{formatClock(b.start)}</th>
              <td>{formatNumber(b.adds)}</td>
              <td>{formatNumber(b.removes)}</td>
              <td>{formatNumber(b.failed)}</td>
              <td>{formatNumber(b.calls)}</td>
              <td>{formatNumber(b.failedCalls)}</td>
              <td>{formatNumber(b.dryRunCalls)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
