import { useEffect, useRef, useState } from 'react';
import { request } from '../api';
import { formatNumber } from '../format';
import type { Connections, ReplayAnswer, ReplayFilter } from '../types';
import { ErrorNotice } from './common';

type Step =
  | { kind: 'previewing' }
  | { kind: 'confirm'; preview: ReplayAnswer }
  | { kind: 'sending'; preview: ReplayAnswer }
  | { kind: 'progress'; preview: ReplayAnswer; requeued: number; waiting: number; refused: number; done: boolean }
  | { kind: 'error'; error: unknown };

/** Waiting changes and refused members on the replayed lists: a replay is done when nothing waits there. */
export function replayProgress(connections: Connections, listIds: number[]): { waiting: number; refused: number } {
  const seen = new Set<number>();
  let waiting = 0;
  let refused = 0;
  for (const c of connections.items) {
    if (c.listId === null || !listIds.includes(c.listId) || seen.has(c.listId)) continue;
    seen.add(c.listId);
    waiting += c.pending;
    refused += c.failedMembers;
  }
  return { waiting, refused };
}

/**
 * Replay failed members of a connection: first how many would go out again (a preview that changes nothing),
 * then, once confirmed, the replay and its progress until nothing waits on the lists.
 */
export function ReplayDialog({ filter, label, onClose, pollMs = 1000 }: { filter: ReplayFilter; label: string; onClose(): void; pollMs?: number }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [step, setStep] = useState<Step>({ kind: 'previewing' });

  useEffect(() => {
    const element = dialog.current;
    if (element && !element.open) {
      if (typeof element.showModal === 'function') element.showModal();
      else element.setAttribute('open', '');
    }
  }, []);

  useEffect(() => {
    let live = true;
    request<ReplayAnswer>('/v1/replay', { method: 'POST', body: { ...filter, preview: true }, what: 'Counting the failed members' })
      .then((preview) => live && setStep({ kind: 'confirm', preview }))
      .catch((error: unknown) => live && setStep({ kind: 'error', error }));
    return () => {
      live = false;
    };
  }, [filter]);

  const running = step.kind === 'progress' && !step.done;
  const listIds = step.kind === 'progress' ? (step.preview.listIds ?? []) : [];
  useEffect(() => {
    if (!running) return;
    let live = true;
    const timer = setInterval(() => {
      request<Connections>('/v1/connections', { what: 'Following the replay' })
        .then((connections) => {
          if (!live) return;
          const { waiting, refused } = replayProgress(connections, listIds);
          setStep((s) => (s.kind === 'progress' ? { ...s, waiting, refused, done: waiting === 0 } : s));
        })
        .catch(() => undefined); // the next tick tries again
    }, pollMs);
    return () => {
      live = false;
      clearInterval(timer);
    };
    // listIds is derived from the step; its identity changes on every progress update
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [running, pollMs]);

  const confirm = async (preview: ReplayAnswer) => {
    setStep({ kind: 'sending', preview });
    try {
      const answer = await request<ReplayAnswer>('/v1/replay', { method: 'POST', body: filter, what: 'The replay' });
      setStep({ kind: 'progress', preview, requeued: answer.requeued, waiting: answer.requeued, refused: preview.requeued, done: answer.requeued === 0 });
    } catch (error) {
      setStep({ kind: 'error', error });
    }
  };

  return (
    <dialog ref={dialog} className="dialog" aria-labelledby="replay-title" onCancel={onClose}>
      <h2 id="replay-title">Replay failed members</h2>
      <p className="muted">{label}</p>
      {step.kind === 'previewing' && <p aria-live="polite">Counting the members Iterable refused…</p>}
      {step.kind === 'error' && <ErrorNotice error={step.error} />}
      {step.kind === 'confirm' &&
        (step.preview.requeued === 0 ? (
          <p aria-live="polite">Nothing to replay: no member of {step.preview.lists === 1 ? 'this list' : 'these lists'} is refused right now.</p>
        ) : (
          <p aria-live="polite" data-testid="replay-preview">
            <strong>{formatNumber(step.preview.requeued)}</strong> refused member{step.preview.requeued === 1 ? '' : 's'} on {step.preview.lists} list
            {step.preview.lists === 1 ? '' : 's'} ({(step.preview.listIds ?? []).join(', ')}) will be sent again with their newest state. Fix the cause first (a
            forgotten user stays forgotten).
          </p>
        ))}
      {step.kind === 'sending' && <p aria-live="polite">Sending the replay…</p>}
      {step.kind === 'progress' && (
        <div aria-live="polite" data-testid="replay-progress">
          <progress
            max={Math.max(1, step.requeued)}
            value={step.done ? Math.max(1, step.requeued) : Math.max(0, step.requeued - step.waiting)}
            aria-label="Replay progress"
          />
          {step.done ? (
            <p>
              Done: {formatNumber(step.requeued)} member{step.requeued === 1 ? '' : 's'} sent again; {formatNumber(step.refused)} still refused by Iterable.
            </p>
          ) : (
            <p>
              {formatNumber(step.requeued)} member{step.requeued === 1 ? '' : 's'} sent again; {formatNumber(step.waiting)} change
              {step.waiting === 1 ? '' : 's'} still waiting for Iterable on {step.preview.lists === 1 ? 'this list' : 'these lists'}…
            </p>
          )}
        </div>
      )}
      <div className="dialog-actions">
        {step.kind === 'confirm' && step.preview.requeued > 0 && (
          <button type="button" className="primary" onClick={() => void confirm(step.preview)}>
            Replay {formatNumber(step.preview.requeued)} member{step.preview.requeued === 1 ? '' : 's'}
          </button>
        )}
        <button type="button" onClick={onClose}>
          {step.kind === 'progress' || step.kind === 'error' || (step.kind === 'confirm' && step.preview.requeued === 0) ? 'Close' : 'Cancel'}
        </button>
      </div>
    </dialog>
  );
}
