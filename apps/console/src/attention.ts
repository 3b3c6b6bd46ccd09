import type { ConnectionRow } from './types';

/** Something an operator should look at, most urgent first. */
export interface AttentionItem {
  key: string;
  severity: 'critical' | 'warning' | 'info';
  title: string;
  detail: string;
}

const where = (c: ConnectionRow) =>
  `account ${c.accountId} · "${c.audienceName || `audience ${c.audienceId}`}"${c.listId === null ? '' : ` → list ${c.listId}`}`;

/**
 * What the overview shows first: suspended accounts (once each) and connections, lists backing off, changes
 * held without a list, members Iterable refused, accounts in dry run. Removed connections are left out.
 */
export function attentionItems(rows: ConnectionRow[]): AttentionItem[] {
  const items: AttentionItem[] = [];
  const accountsSeen = new Set<number>();
  const listsSeen = new Set<number>();
  for (const c of rows) {
    if (c.status === 'removed') continue;
    if (c.suspendedBy === 'account') {
      if (!accountsSeen.has(c.accountId)) {
        accountsSeen.add(c.accountId);
        items.push({
          key: `account-${c.accountId}`,
          severity: 'critical',
          title: `Account ${c.accountId} is suspended`,
          detail: `${c.reason ?? 'no reason recorded'}. Its changes wait; resume it on Connections once the cause is fixed.`,
        });
      }
    } else if (c.suspendedBy === 'connection') {
      items.push({
        key: `connection-${c.accountId}-${c.audienceId}`,
        severity: 'critical',
        title: `Suspended: ${where(c)}`,
        detail: `${c.reason ?? 'no reason recorded'}. Its changes wait; resume it on Connections.`,
      });
    }
    if (c.failing && c.listId !== null && !listsSeen.has(c.listId)) {
      listsSeen.add(c.listId);
      items.push({
        key: `failing-${c.listId}`,
        severity: 'warning',
        title: `List ${c.listId} is retrying after errors`,
        detail:
          `Failing since ${new Date(c.failing.since).toLocaleString()}, ` +
          `${c.failing.attempts} tries${c.failing.lastError ? `; last error: ${c.failing.lastError}` : ''}. It retries with backoff by itself.`,
      });
    }
    if (c.held > 0) {
      items.push({
        key: `held-${c.accountId}-${c.audienceId}`,
        severity: 'warning',
        title: `${c.held} held change${c.held === 1 ? '' : 's'}: ${where(c)}`,
        detail: 'The audience names no Iterable list. Set its listId in mParticle (or PUT …/audiences/:id {listId}) to release them.',
      });
    }
  }
  const failedLists = new Set<number>();
  for (const c of rows) {
    if (c.status === 'removed' || c.listId === null || c.failedMembers === 0 || failedLists.has(c.listId)) continue;
    failedLists.add(c.listId);
    items.push({
      key: `failed-${c.listId}`,
      severity: 'info',
      title: `${c.failedMembers} member${c.failedMembers === 1 ? '' : 's'} refused on list ${c.listId}`,
      detail: 'Iterable refused them for good (invalid email, forgotten user…). Replay them on Connections once fixed.',
    });
  }
  const dryRun = [...new Set(rows.filter((c) => c.dryRun && c.status !== 'removed').map((c) => c.accountId))];
  for (const accountId of dryRun) {
    items.push({
      key: `dry-run-${accountId}`,
      severity: 'info',
      title: `Account ${accountId} is in dry run`,
      detail: 'Calls are recorded, not sent. Turn dry run off on Connections to deliver.',
    });
  }
  const order = { critical: 0, warning: 1, info: 2 };
  return items.sort((a, b) => order[a.severity] - order[b.severity]);
}
