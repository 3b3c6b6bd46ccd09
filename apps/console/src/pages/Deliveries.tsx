import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { FormEvent, useEffect, useRef, useState } from 'react';
import { query, request } from '../api';
import { EmptyState, ErrorNotice, LiveStamp, StatusBadge } from '../components/common';
import { deliveryStatus, formatDuration, formatNumber, formatTime, localInputToIso } from '../format';
import { CursorPages, EMPTY_FILTER, filterParams, FIRST_PAGE, newer, older, pageNumber } from '../paging';
import { useRoute } from '../router';
import { DELIVERY_STATUSES, DeliveryDetail, DeliveryPage } from '../types';

export const DELIVERIES_REFRESH_MS = 10_000;
const PAGE_SIZE = 25;

export function Deliveries() {
  const { search } = useRoute();
  const [form, setForm] = useState(EMPTY_FILTER);
  const [params, setParams] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [pages, setPages] = useState<CursorPages>(FIRST_PAGE);
  const [open, setOpen] = useState<string | null>(() => new URLSearchParams(search).get('call'));

  const list = useQuery({
    queryKey: ['deliveries', params, pages.current],
    queryFn: () => request<DeliveryPage>(`/v1/deliveries${query({ ...params, limit: PAGE_SIZE, cursor: pages.current })}`, { what: 'Loading the deliveries' }),
    // Only the first page follows new calls; an older page stays as it was read.
    refetchInterval: pages.current === undefined ? DELIVERIES_REFRESH_MS : false,
    placeholderData: keepPreviousData,
  });

  const apply = (event: FormEvent) => {
    event.preventDefault();
    const result = filterParams(form, localInputToIso);
    if ('error' in result) {
      setFormError(result.error);
      return;
    }
    setFormError(null);
    setParams(result.params);
    setPages(FIRST_PAGE);
  };
  const reset = () => {
    setForm(EMPTY_FILTER);
    setParams({});
    setFormError(null);
    setPages(FIRST_PAGE);
  };
  const field = (key: keyof typeof form) => ({ value: form[key], onChange: (e: { target: { value: string } }) => setForm({ ...form, [key]: e.target.value }) });
  const items = list.data?.items ?? [];
  const filtered = Object.keys(params).length > 0;

  return (
    <main id="main" tabIndex={-1}>
      <div className="page-head">
        <h1>Deliveries</h1>
        {pages.current === undefined && <LiveStamp updatedAt={list.dataUpdatedAt} everyMs={DELIVERIES_REFRESH_MS} fetching={list.isFetching} />}
      </div>
      <p className="muted">Every Iterable call, newest first. Open one to see each user&apos;s verdict.</p>
      <form className="filters" onSubmit={apply} aria-label="Filter deliveries">
        <label>
          Account
          <input inputMode="numeric" name="accountId" {...field('accountId')} />
        </label>
        <label>
          Audience
          <input inputMode="numeric" name="audienceId" {...field('audienceId')} />
        </label>
        <label>
          List
          <input inputMode="numeric" name="listId" {...field('listId')} />
        </label>
        <label>
          Status
          <select name="status" {...field('status')}>
            <option value="">any</option>
            {DELIVERY_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          From
          <input type="datetime-local" step={1} name="from" {...field('from')} />
        </label>
        <label>
          To
          <input type="datetime-local" step={1} name="to" {...field('to')} />
        </label>
        <div className="filter-buttons">
          <button type="submit" className="primary">
            Apply filters
          </button>
          <button type="button" onClick={reset}>
            Reset
          </button>
        </div>
      </form>
      {formError && (
        <p className="notice notice-error" role="alert">
          {formError}
        </p>
      )}
      <ErrorNotice error={list.error} />

      {list.data && items.length === 0 && (
        <EmptyState title={filtered ? 'No call matches these filters' : 'No Iterable calls yet'}>
          <p>
            {filtered
              ? 'Widen the time range or clear a filter (Reset). Calls are kept for AUDIT_RETENTION_DAYS (30 days by default).'
              : 'Calls appear here as soon as the worker delivers the first change. Is the worker running (npm start runs both), ' +
                'and has mParticle sent changes? See Overview.'}
          </p>
        </EmptyState>
      )}
      {items.length > 0 && (
        <div className="table-scroll">
          <table className="data stack" aria-label="Iterable calls">
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Status</th>
                <th scope="col">Account</th>
                <th scope="col">List</th>
                <th scope="col">Call</th>
                <th scope="col">Members</th>
                <th scope="col">OK / failed</th>
                <th scope="col">HTTP</th>
                <th scope="col">Took</th>
                <th scope="col">
                  <span className="visually-hidden">Open</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((d) => {
                const status = deliveryStatus(d);
                return (
                  <tr key={d.id} className={open === d.id ? 'selected' : undefined} data-testid="delivery-row">
                    <td data-label="Time">
                      <time dateTime={d.time}>{formatTime(d.time)}</time>
                    </td>
                    <td data-label="Status">
                      <StatusBadge status={status}>{status}</StatusBadge>
                    </td>
                    <td data-label="Account">{d.accountId}</td>
                    <td data-label="List">{d.listId}</td>
                    <td data-label="Call">{d.action}</td>
                    <td data-label="Members">{formatNumber(d.subscriberCount)}</td>
                    <td data-label="OK / failed">
                      {formatNumber(d.successCount)} / {formatNumber(d.failureCount)}
                    </td>
                    <td data-label="HTTP">{d.httpStatus ?? (d.dryRun ? '—' : 'no answer')}</td>
                    <td data-label="Took">{formatDuration(d.durationMs)}</td>
                    <td>
                      <button type="button" onClick={() => setOpen(open === d.id ? null : d.id)} aria-expanded={open === d.id} aria-controls="delivery-detail">
                        {open === d.id ? 'Close' : 'Open'}
                        <span className="visually-hidden">
                          {' '}
                          call of {formatTime(d.time)} to list {d.listId}
                        </span>
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <nav className="pager" aria-label="Pages of calls">
        <button type="button" disabled={pages.previous.length === 0} onClick={() => setPages(newer(pages))}>
          ← Newer
        </button>
        <span>Page {pageNumber(pages)}</span>
        <button type="button" disabled={!list.data?.nextCursor} onClick={() => setPages(older(pages, list.data?.nextCursor ?? null))}>
          Older →
        </button>
      </nav>
      {open && <CallDetail id={open} onClose={() => setOpen(null)} />}
    </main>
  );
}

function CallDetail({ id, onClose }: { id: string; onClose(): void }) {
  const detail = useQuery({
    queryKey: ['delivery', id],
    queryFn: () => request<DeliveryDetail>(`/v1/deliveries/${encodeURIComponent(id)}`, { what: 'Opening the call' }),
  });
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (detail.data) heading.current?.focus();
  }, [detail.data]);
  const d = detail.data;
  return (
    <section id="delivery-detail" className="panel detail" aria-labelledby="detail-title">
      <div className="panel-head">
        <h2 id="detail-title" ref={heading} tabIndex={-1}>
          Call {id.slice(0, 8)}
        </h2>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
      <ErrorNotice error={detail.error} />
      {detail.isPending && <p aria-live="polite">Loading the call…</p>}
      {d && (
        <>
          <dl className="facts">
            <div>
              <dt>When</dt>
              <dd>{formatTime(d.time)}</dd>
            </div>
            <div>
              <dt>Account → list</dt>
              <dd>
                {d.accountId} → {d.listId}
              </dd>
            </div>
            <div>
              <dt>Audiences</dt>
              <dd>{d.audienceIds.join(', ') || '—'}</dd>
            </div>
            <div>
              <dt>Call</dt>
              <dd>
                {d.action} of {formatNumber(d.subscriberCount)} member{d.subscriberCount === 1 ? '' : 's'}
              </dd>
            </div>
            <div>
              <dt>Answer</dt>
              <dd>
                <StatusBadge status={deliveryStatus(d)}>{deliveryStatus(d)}</StatusBadge>{' '}
                {d.dryRun ? 'not sent (dry run)' : d.httpStatus === null ? 'no answer' : `HTTP ${d.httpStatus}`} in {formatDuration(d.durationMs)}
              </dd>
            </div>
            <div>
              <dt>Delivered / failed</dt>
              <dd>
                {formatNumber(d.successCount)} / {formatNumber(d.failureCount)}
              </dd>
            </div>
          </dl>
          <h3>Error sample</h3>
          {d.errorSample ? (
            <pre className="error-sample" data-testid="error-sample">
              {d.errorSample}
            </pre>
          ) : (
            <p>No error: Iterable answered the call.</p>
          )}
          {d.failureReasons.length > 0 && <p>Failed by reason: {d.failureReasons.map((r) => `${r.reason} × ${formatNumber(r.count)}`).join(', ')}</p>}
          <h3>
            Verdicts ({formatNumber(d.verdicts.length)}
            {d.verdictsTruncated ? ', the first 1000' : ''})
          </h3>
          <div className="table-scroll tall">
            <table className="data" aria-label="Per-user verdicts">
              <thead>
                <tr>
                  <th scope="col">Email</th>
                  <th scope="col">userId</th>
                  <th scope="col" title="the mpid, or the key of a user mParticle sent without one">
                    mpid / key
                  </th>
                  <th scope="col">Audience</th>
                  <th scope="col">Change</th>
                  <th scope="col">Verdict</th>
                  <th scope="col">Reason</th>
                </tr>
              </thead>
              <tbody>
                {d.verdicts.map((v, i) => (
                  <tr key={`${v.userKey}-${v.audienceId}-${i}`}>
                    <td>{v.email ?? '—'}</td>
                    <td>{v.userId ?? '—'}</td>
                    <td>{v.mpid ?? v.userKey}</td>
                    <td>{v.audienceId}</td>
                    <td>{v.action}</td>
                    <td>
                      <StatusBadge status={v.outcome}>{v.outcome}</StatusBadge>
                      {v.retryable ? ' (retried)' : ''}
                    </td>
                    <td>{v.reason ?? ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}
