// Cursor paging of /v1/deliveries: "Older" follows nextCursor, "Newer" goes back one page. Pure, tested.

export interface CursorPages {
  /** The cursors of the pages before the current one (undefined: the first page). */
  previous: (string | undefined)[];
  current: string | undefined;
}

export const FIRST_PAGE: CursorPages = { previous: [], current: undefined };

export function older(pages: CursorPages, nextCursor: string | null): CursorPages {
  return nextCursor ? { previous: [...pages.previous, pages.current], current: nextCursor } : pages;
}

export function newer(pages: CursorPages): CursorPages {
  if (pages.previous.length === 0) return pages;
  return { previous: pages.previous.slice(0, -1), current: pages.previous[pages.previous.length - 1] };
}

export function pageNumber(pages: CursorPages): number {
  return pages.previous.length + 1;
}

export interface DeliveryFilterForm {
  accountId: string;
  audienceId: string;
  listId: string;
  status: string;
  from: string;
  to: string;
}

export const EMPTY_FILTER: DeliveryFilterForm = { accountId: '', audienceId: '', listId: '', status: '', from: '', to: '' };

/** The form's values as /v1/deliveries parameters, or the first problem with them. */
export function filterParams(form: DeliveryFilterForm, toIso: (local: string) => string | undefined): { params: Record<string, string> } | { error: string } {
  const params: Record<string, string> = {};
  for (const key of ['accountId', 'audienceId', 'listId'] as const) {
    const value = form[key].trim();
    if (!value) continue;
    if (!/^\d+$/.test(value))
      return { error: `${key === 'listId' ? 'List' : key === 'accountId' ? 'Account' : 'Audience'} must be a number (got "${value}").` };
    params[key] = value;
  }
  if (form.status) params['status'] = form.status;
  for (const key of ['from', 'to'] as const) {
    if (!form[key]) continue;
    const iso = toIso(form[key]);
    if (!iso) return { error: `"${key === 'from' ? 'From' : 'To'}" is not a date and time.` };
    params[key] = iso;
  }
  if (params['from'] && params['to'] && params['from'] >= params['to']) return { error: '"From" must be before "To".' };
  return { params };
}
