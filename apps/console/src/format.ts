// How figures read on screen. Pure functions, tested in format.spec.ts.

const numberFormat = new Intl.NumberFormat('en-US');

export function formatNumber(n: number): string {
  return numberFormat.format(n);
}

/** A duration in the two largest units: `850 ms`, `12 s`, `4 min 10 s`, `3 h 5 min`, `2 d 4 h`. */
export function formatDuration(ms: number | null): string {
  if (ms === null) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}

/** `just now`, `40 s ago`, `5 min ago`, `in 3 s` (relative to `now`). */
export function formatAgo(iso: string | null, now = Date.now()): string {
  if (iso === null) return 'never';
  const delta = now - Date.parse(iso);
  if (Math.abs(delta) < 2000) return 'just now';
  return delta > 0 ? `${formatDuration(delta).split(' ').slice(0, 2).join(' ')} ago` : `in ${formatDuration(-delta).split(' ').slice(0, 2).join(' ')}`;
}

/** `2026-11-30 12:00:05` in the browser's time zone. */
export function formatTime(iso: string): string {
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** A bucket's axis label: `12:05` for minute and quarter-hour buckets. */
export function formatClock(iso: string): string {
  const d = new Date(iso);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

/** Calls per second with at most 2 decimals. */
export function formatRate(perSecond: number): string {
  return perSecond >= 10 ? perSecond.toFixed(0) : perSecond.toFixed(2).replace(/\.?0+$/, '') || '0';
}

/** How a delivery call ended, in one word, like the status filter of /v1/deliveries. */
export function deliveryStatus(d: { dryRun: boolean; httpStatus: number | null; failureCount: number }): 'dry-run' | 'success' | 'partial' | 'failed' {
  if (d.dryRun) return 'dry-run';
  if (d.httpStatus !== 200) return 'failed';
  return d.failureCount > 0 ? 'partial' : 'success';
}

/** `datetime-local` input value (local time) to ISO 8601, or undefined when empty or invalid. */
export function localInputToIso(value: string): string | undefined {
  if (!value) return undefined;
  const t = new Date(value).getTime();
  return Number.isNaN(t) ? undefined : new Date(t).toISOString();
}

/**
 * A finished drift check in a few words: `exact`, or `2 missing, 3 extra`, then what a repair sent, and the extra
 * members it left on the list because this service never subscribed them (repairExtras "ours", the default).
 */
export function driftSummary(r: { missing: number; extra: number; repaired: number; extraKept?: number; repairExtras?: string | null }): string {
  const found = r.missing === 0 && r.extra === 0 ? 'exact' : `${formatNumber(r.missing)} missing, ${formatNumber(r.extra)} extra`;
  const repaired = r.repaired > 0 ? `, ${formatNumber(r.repaired)} repaired` : '';
  const kept = (r.extraKept ?? 0) > 0 ? `, ${formatNumber(r.extraKept ?? 0)} extra kept (not added by us)` : '';
  return `${found}${repaired}${kept}`;
}
