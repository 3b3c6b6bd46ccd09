import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Browser, BrowserContext, chromium, Page } from 'playwright-core';
import { ADMIN_TOKEN, membershipMessage, waitFor } from '@audience-bridge/harness';
import { ConsoleWorld, startConsoleWorld, userEmail } from './support/console-world';

// The operations console in a real browser: Debian's Chromium (the `chromium` package, installed by .ci/run;
// Playwright downloads no browser) driven by playwright-core against the built API and worker, Redis, SQLite
// and the fake Iterable. One driver: the console reads the same API whose answers console-api.spec.ts checks
// on both. Screenshots go to $CONSOLE_SCREENSHOTS or the temp folder, never into the repository.
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const SHOTS = process.env['CONSOLE_SCREENSHOTS'] ?? join(tmpdir(), 'audience-bridge-console');

describe('operations console in Chromium (API, worker, SQLite, fake Iterable)', () => {
  let world: ConsoleWorld;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const requests: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(`${CHROMIUM} is missing: apt-get install -y --no-install-recommends chromium (.ci/run does), or set CHROMIUM_PATH`);
    mkdirSync(SHOTS, { recursive: true });
    world = await startConsoleWorld('sqlite');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    context = await newContext({ width: 1280, height: 900 });
    page = await context.newPage();
  }, 150_000);
  afterAll(async () => {
    await browser?.close();
    await world?.stop();
  });

  async function newContext(viewport: { width: number; height: number }): Promise<BrowserContext> {
    const c = await browser.newContext({ viewport, baseURL: world.stack.apiUrl });
    c.on('request', (r) => requests.push(r.url()));
    c.setDefaultTimeout(15_000);
    return c;
  }
  const shot = (p: Page, name: string) => p.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  // Every test leaves a screenshot of where it ended, named after it.
  afterEach(async () => {
    const name = (expect.getState().currentTestName ?? 'test')
      .replace(/^operations console in Chromium \([^)]*\) /, '')
      .replace(/[^a-z0-9]+/gi, '-')
      .slice(0, 80);
    if (page && !page.isClosed()) await shot(page, `after-${name}`).catch(() => undefined);
  });
  /** A change for the healthy account's audience `audienceId`, keeping the audience's name. */
  const change = (id: string, i: number, audienceId: number, listId: number, name: string) => {
    const message = membershipMessage(
      id,
      Date.now(),
      [{ mpid: String(2001_800 + i), email: `more${i}@example.com`, customerId: `more-${i}`, audiences: [{ audienceId, listId, action: 'add' }] }],
      {
        accountId: world.healthy.accountId,
        apiKey: world.healthy.apiKey,
      },
    );
    (message['user_profiles'] as { audiences: { audience_name: string }[] }[])[0].audiences[0].audience_name = name;
    return message;
  };
  const text = async (p: Page, testId: string) => ((await p.getByTestId(testId).textContent()) ?? '').trim();
  const until = (check: () => Promise<boolean>, ms = 20_000) => waitFor(check, ms, 200);
  async function signIn(p: Page): Promise<void> {
    await p.goto('/');
    await p.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
  }
  const nav = (p: Page, name: string) => p.getByRole('navigation', { name: 'Console' }).getByRole('link', { name, exact: true }).click();

  it('refuses a wrong token, signs in with the admin token and keeps it out of URLs and local storage', async () => {
    await page.goto('/');
    await page.getByLabel('Admin token').fill('not-the-admin-token-at-all');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'That token was refused' }).waitFor();
    expect(await page.evaluate<number>('sessionStorage.length')).toBe(0);
    await signIn(page);
    expect(await page.evaluate<string[]>('Object.values(sessionStorage)')).toEqual([ADMIN_TOKEN]);
    expect(await page.evaluate<number>('localStorage.length')).toBe(0);
    expect(await context.cookies()).toEqual([]);
    expect(page.url()).not.toContain(ADMIN_TOKEN);
  }, 60_000);

  it('overview: the real backlog, lag, traffic and rate, with the suspended and held audiences first', async () => {
    const summary = (await world.stack.admin('GET', '/v1/summary?window=hour')).body;
    await page.getByTestId('total-adds').waitFor();
    expect(await text(page, 'tile-pending')).toContain(String(summary.pending));
    expect(await text(page, 'tile-held')).toContain('4');
    expect(await text(page, 'tile-rate')).toContain('/ 25');
    expect(await text(page, 'total-adds')).toBe(summary.totals.adds.toLocaleString('en-US'));
    expect(await text(page, 'total-removes')).toBe(summary.totals.removes.toLocaleString('en-US'));
    expect(await text(page, 'total-failed')).toBe(summary.totals.failed.toLocaleString('en-US'));
    const attention = page.getByRole('region', { name: /Needs attention/ }).getByRole('listitem');
    expect(await attention.first().textContent()).toContain(`Suspended: account 2002 · "Win-back" → list ${world.suspended.listId}`);
    expect(await attention.allTextContents()).toEqual(
      expect.arrayContaining([expect.stringContaining('4 held changes: account 2003 · "No list yet"'), expect.stringContaining('3 members refused on list')]),
    );
    await page.getByRole('img', { name: /Iterable traffic over the last hour/ }).waitFor();
    await page.getByRole('button', { name: 'Last day' }).click();
    await page.getByRole('heading', { name: 'Deliveries over the last day' }).waitFor();
    await shot(page, 'overview');
  }, 60_000);

  it('connections: one row per audience; a suspended audience resumes and delivers once its list exists', async () => {
    await nav(page, 'Connections');
    const row = page.getByTestId(`connection-2002-${world.suspended.audienceId}`);
    await row.waitFor();
    expect(await row.textContent()).toMatch(/suspended.*unknown list/);
    expect(await page.getByTestId('connection-2003-20030').textContent()).toMatch(/held.*names no Iterable list/);
    expect(await page.getByTestId('connection-2001-20010').textContent()).toMatch(/VIP.*active/);
    await shot(page, 'connections');

    world.fake.state.createList(world.fake.state.projectFor(world.suspended.apiKey), 'Win-back', undefined, world.suspended.listId);
    await row.getByRole('button', { name: 'Resume "Win-back" of account 2002' }).click();
    await page.getByRole('status').filter({ hasText: 'Resumed "Win-back"' }).waitFor();
    await until(async () => /active/.test((await row.textContent()) ?? '') && (await row.locator('td[data-label="Added 24 h"]').textContent()) === '5');
    expect((world.fake.state.members(world.suspended.listId) ?? []).length).toBe(5);
  }, 60_000);

  it('connections: replay failed members with a preview count and a confirmation, and watch them clear', async () => {
    for (const email of world.forgotten) world.fake.state.projectFor(world.healthy.apiKey).forgottenEmails.delete(email);
    const row = page.getByTestId('connection-2001-20010');
    await row.getByRole('button', { name: 'Replay failed members of "VIP" of account 2001' }).click();
    const dialog = page.getByRole('dialog', { name: 'Replay failed members' });
    await dialog.getByTestId('replay-preview').waitFor();
    expect(await dialog.getByTestId('replay-preview').textContent()).toContain(`3 refused members on 1 list (${world.healthy.lists.vip})`);
    await shot(page, 'replay-preview');
    await dialog.getByRole('button', { name: 'Replay 3 members' }).click();
    await dialog.getByText('Done: 3 members sent again; 0 still refused by Iterable.').waitFor({ timeout: 30_000 });
    await dialog.getByRole('button', { name: 'Close' }).click();
    const members = new Set((world.fake.state.members(world.healthy.lists.vip) ?? []).map((m) => m.email));
    for (const email of world.forgotten) expect(members.has(email)).toBe(true);
    await until(async () => !/Replay failed \(/.test((await row.textContent()) ?? ''));
  }, 60_000);

  it('connections: checks a list for drift and shows what it found', async () => {
    const row = page.getByTestId('connection-2001-20010');
    world.fake.state.operatorEdit(world.healthy.lists.vip, { add: [{ email: 'stranger.added.by.hand@example.com' }] });
    expect(await row.locator('td[data-label="Drift"]').textContent()).toMatch(/not checked/);
    await row.getByRole('button', { name: /^Check list \d+ of "VIP" of account 2001 for drift$/ }).click();
    await page.getByRole('status').filter({ hasText: 'Drift check of list' }).waitFor();
    await until(async () => /0 missing, 1 extra/.test((await row.locator('td[data-label="Drift"]').textContent()) ?? ''), 40_000);
    await shot(page, 'connections-drift');
  }, 60_000);

  it('connections: dry run on and off, each after a confirmation', async () => {
    const row = page.getByTestId('connection-2001-20011');
    await row.getByRole('button', { name: 'Turn dry run on for account 2001' }).click();
    const dialog = page.getByRole('dialog', { name: 'Turn dry run on for account 2001?' });
    await dialog.getByRole('button', { name: 'Turn dry run on' }).click();
    await until(async () => /dry run/.test((await row.getByRole('cell').nth(3).textContent()) ?? ''));
    expect((await world.stack.admin('GET', '/v1/accounts/2001')).body.dryRun).toBe(true);

    await row.getByRole('button', { name: 'Turn dry run off for account 2001' }).click();
    await page.getByRole('dialog', { name: 'Turn dry run off for account 2001?' }).getByRole('button', { name: 'Turn dry run off' }).click();
    await until(async () => /active/.test((await row.getByRole('cell').nth(3).textContent()) ?? ''));
    expect((await world.stack.admin('GET', '/v1/accounts/2001')).body.dryRun).toBe(false);
  }, 60_000);

  it('deliveries: filters by account and status, and a call opens to its verdicts and error sample', async () => {
    await nav(page, 'Deliveries');
    const form = page.getByRole('form', { name: 'Filter deliveries' });
    await form.getByLabel('Account').fill('2002');
    await form.getByLabel('Status').selectOption('failed');
    await form.getByRole('button', { name: 'Apply filters' }).click();
    const rows = page.getByTestId('delivery-row');
    await until(async () => (await rows.count()) > 0 && (await rows.allTextContents()).every((t) => /failed/.test(t) && /2002/.test(t)));
    await rows.first().getByRole('button', { name: /^Open/ }).click();
    const detail = page.getByRole('region', { name: /^Call / });
    await detail.getByTestId('error-sample').waitFor();
    expect(await detail.textContent()).toContain('HTTP 400');
    await shot(page, 'deliveries-failed');

    await form.getByLabel('Account').fill('2001');
    await form.getByLabel('Status').selectOption('partial');
    await form.getByRole('button', { name: 'Apply filters' }).click();
    await until(async () => (await rows.count()) > 0 && (await rows.allTextContents()).every((t) => /partial/.test(t) && /2001/.test(t)));
    await rows.first().getByRole('button', { name: /^Open/ }).click();
    const verdicts = page.getByRole('table', { name: 'Per-user verdicts' });
    await until(async () => /forgotten/.test((await verdicts.textContent()) ?? ''));
    expect(await page.getByRole('button', { name: /Older/ }).isDisabled()).toBe(true);

    // Enough calls for a second page (25 a page): one small change at a time, each its own call.
    for (let i = 0; i < 40 && (await world.stack.admin('GET', '/v1/deliveries?limit=500')).body.items.length <= 30; i++) {
      expect((await world.stack.send(change(`console-more-${i}`, i, 20011, world.healthy.lists.churn, 'Churn'))).status).toBe(200);
      await new Promise((r) => setTimeout(r, 400));
    }
    await form.getByRole('button', { name: 'Reset' }).click();
    await until(async () => (await rows.count()) === 25);
    const newestOnFirst = await rows.first().locator('time').getAttribute('datetime');
    const oldestOnFirst = await rows.last().locator('time').getAttribute('datetime');
    await page.getByRole('button', { name: 'Older →' }).click();
    await page.getByText('Page 2').waitFor();
    await until(async () => (await rows.first().locator('time').getAttribute('datetime')) !== newestOnFirst);
    expect(Date.parse((await rows.first().locator('time').getAttribute('datetime')) ?? '')).toBeLessThanOrEqual(Date.parse(oldestOnFirst ?? ''));
    await page.getByRole('button', { name: '← Newer' }).click();
    await page.getByText('Page 1').waitFor();
    await until(async () => (await rows.first().locator('time').getAttribute('datetime')) === newestOnFirst || (await rows.count()) === 25);

    await form.getByLabel('From').fill('2099-01-01T00:00:00');
    await form.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByRole('heading', { name: 'No call matches these filters' }).waitFor();

    await form.getByLabel('List').fill('twelve');
    await form.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByRole('alert').filter({ hasText: 'List must be a number (got "twelve").' }).waitFor();
    await form.getByRole('button', { name: 'Reset' }).click();
  }, 60_000);

  it('user lookup: by email, per audience and list the desired state, what Iterable has and the verdicts', async () => {
    await nav(page, 'User lookup');
    const search = page.getByRole('search', { name: 'Find a user' });
    await search.getByLabel('Find by').selectOption('email');
    await search.getByRole('textbox', { name: 'Email' }).fill(userEmail(4).toUpperCase());
    await search.getByRole('button', { name: 'Find' }).click();
    const cards = page.getByTestId('membership');
    await until(async () => (await cards.count()) === 2);
    const vip = (await cards.first().textContent()) ?? '';
    expect(vip).toMatch(/Account 2001 · "VIP"/);
    expect(vip).toContain('on the list');
    expect(vip).toContain('cust-4');
    expect(vip).toMatch(/delivered/);
    await shot(page, 'user-lookup');
    // A verdict's call opens on the Deliveries page.
    await cards.first().getByRole('link').first().click();
    await page
      .getByRole('region', { name: /^Call / })
      .getByRole('table', { name: 'Per-user verdicts' })
      .waitFor();
    // A simple delivery is kept compact (the user's key, here the mpid; no email).
    expect(await page.getByRole('table', { name: 'Per-user verdicts' }).textContent()).toContain(String(2001_000 + 4));

    await nav(page, 'User lookup');
    await page.getByRole('search').getByRole('textbox', { name: 'Email' }).fill('nobody@example.com');
    await page.getByRole('button', { name: 'Find' }).click();
    await page.getByRole('heading', { name: 'No user found' }).waitFor();
  }, 60_000);

  it('refreshes live: a change sent now shows on the overview without a reload', async () => {
    await nav(page, 'Overview');
    await page.getByTestId('total-adds').waitFor();
    const before = Number((await text(page, 'total-adds')).replace(/,/g, ''));
    const answer = await world.stack.send(
      membershipMessage(
        'console-live-1',
        Date.now(),
        [
          {
            mpid: '2001900',
            email: 'live@example.com',
            customerId: 'cust-live',
            audiences: [{ audienceId: 20010, listId: world.healthy.lists.vip, action: 'add' }],
          },
        ],
        {
          accountId: world.healthy.accountId,
          apiKey: world.healthy.apiKey,
        },
      ),
    );
    expect(answer.status).toBe(200);
    await until(async () => Number((await text(page, 'total-adds')).replace(/,/g, '')) > before, 30_000);
  }, 60_000);

  it('is keyboard reachable: skip link, navigation, a dialog opened and closed with keys', async () => {
    await page.goto('/');
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate<string | undefined>('document.activeElement?.textContent')).toBe('Skip to content');
    await page.keyboard.press('Tab');
    expect(await page.evaluate<string | undefined>('document.activeElement?.textContent')).toBe('Overview');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Connections', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Replay failed members of "Churn" of account 2001' }).focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Replay failed members' });
    await dialog.waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
  }, 60_000);

  it('works on a phone-sized screen: no sideways scrolling, every page reachable', async () => {
    const phone = await newContext({ width: 390, height: 844 });
    const p = await phone.newPage();
    await signIn(p);
    const fits = () => p.evaluate<boolean>('document.documentElement.scrollWidth <= window.innerWidth + 1');
    await p.getByTestId('total-adds').waitFor();
    expect(await fits()).toBe(true);
    await shot(p, 'phone-overview');
    await nav(p, 'Connections');
    await p.getByTestId('connection-2001-20010').waitFor();
    expect(await fits()).toBe(true);
    expect(
      await p
        .getByTestId('connection-2001-20010')
        .getByRole('button', { name: /Replay failed members/ })
        .isVisible(),
    ).toBe(true);
    await shot(p, 'phone-connections');
    await nav(p, 'Deliveries');
    await p.getByTestId('delivery-row').first().waitFor();
    expect(await fits()).toBe(true);
    await nav(p, 'User lookup');
    expect(await fits()).toBe(true);
    await phone.close();
  }, 90_000);

  it('signing out forgets the token: the pages ask for it again, after a reload too', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('status').filter({ hasText: 'Signed out' }).waitFor();
    expect(await page.evaluate<number>('sessionStorage.length')).toBe(0);
    await page.goto('/connections');
    await page.getByLabel('Admin token').waitFor();
    await page.reload();
    await page.getByLabel('Admin token').waitFor();
    expect(await page.getByRole('heading', { name: 'Connections' }).count()).toBe(0);
  }, 60_000);

  it('asked nothing of any host but the API, and never put the token in a URL', () => {
    const origin = new URL(world.stack.apiUrl).origin;
    expect(requests.length).toBeGreaterThan(20);
    expect(requests.filter((url) => !url.startsWith(`${origin}/`) && !url.startsWith('data:'))).toEqual([]);
    expect(requests.filter((url) => url.includes(ADMIN_TOKEN))).toEqual([]);
  });
});
