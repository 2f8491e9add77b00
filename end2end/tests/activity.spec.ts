import { readFileSync } from 'node:fs';
import { expect, type APIRequestContext, test } from '@playwright/test';
import { PASSWORD, open, signUp, watchConsole } from './helpers';

// The activity timeline after a scripted session of every kind of action, its receipts, its
// filters in the address, and the CSV download, whose sums are the wallet's balances.

/** Calls a server function as the page's logged-in user would; returns its JSON answer. */
async function call(request: APIRequestContext, name: string, form: Record<string, string>) {
  const response = await request.post(`/api/${name}`, { form });
  const body = await response.json();
  expect(response.ok(), `${name}: ${JSON.stringify(body)}`).toBeTruthy();
  return body;
}

const key = (what: string) => `e2e-${what}-${Date.now()}-${Math.floor(Math.random() * 1e9)}`;

/** RFC 4180 records: quoted fields may hold commas, quotes and line breaks. */
function parseCsv(text: string): Record<string, string>[] {
  const rows: string[][] = [];
  let field = '';
  let row: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(field), (field = '');
    else if (c === '\r' && text[i + 1] === '\n') row.push(field), rows.push(row), (row = []), (field = ''), i++;
    else field += c;
  }
  const [header, ...records] = rows;
  return records.map((record) => Object.fromEntries(header.map((name, i) => [name, record[i]])));
}

/** An exact decimal of `decimals` places as base units ("-3.01" SOL is -3010000000n). */
function units(text: string, decimals: number): bigint {
  if (!text) return 0n;
  const negative = text.startsWith('-');
  const [whole, fraction = ''] = text.replace('-', '').split('.');
  const value = BigInt(whole + fraction.padEnd(decimals, '0'));
  return negative ? -value : value;
}

const DECIMALS: Record<string, number> = { SOL: 9, USDC: 6, USDT: 6, JUP: 6, BONK: 5, RAY: 6, JTO: 9 };

test('the timeline shows every kind of action, opens each receipt and exports a CSV that sums to the balances', async ({
  page,
  browser,
}) => {
  test.setTimeout(150_000);
  const errors = watchConsole(page);
  const alice = await signUp(page, '30');
  const api = page.request;

  // Bob, in a browser of his own, sends Alice something.
  const bobContext = await browser.newContext();
  const bobSignUp = await bobContext.request.post('/api/sign_up', {
    form: { password: PASSWORD, confirm_password: PASSWORD, initial_sol: '5' },
  });
  const bob = (await bobSignUp.json()).address as string;
  await call(bobContext.request, 'send_transfer', { to: alice, token: 'SOL', amount: '0.75', memo: 'lunch, "thanks"', idempotency_key: key('back') });
  await bobContext.close();

  // Alice: a transfer, a swap, a stake that earns a reward, its unstake and withdrawal.
  await call(api, 'send_transfer', { to: bob, token: 'SOL', amount: '1.25', memo: '', idempotency_key: key('send') });
  const quote = await call(api, 'swap_quote', { from: 'SOL', to: 'USDC', amount: '2', side: 'exact_in', slippage_bps: '500' });
  const swap = await call(api, 'execute_swap', { quote_id: quote.id, idempotency_key: key('swap') });
  const stake = await call(api, 'stake_sol', { validator: 'aurora', amount: '3', idempotency_key: key('stake') });
  await expect
    .poll(async () => (await call(api, 'my_activity', { kind: 'reward' })).rows.length, { timeout: 40_000 })
    .toBeGreaterThan(0);
  await call(api, 'unstake', { address: stake.address, idempotency_key: key('unstake') });
  await expect
    .poll(async () => (await api.post('/api/withdraw_stake', { form: { address: stake.address, idempotency_key: key('withdraw') } })).status(), {
      timeout: 40_000,
      intervals: [1_000],
    })
    .toBe(200);

  // Every kind is on the timeline, newest first.
  await open(page, '/activity');
  const rows = page.getByTestId('activity-row');
  await expect(rows.first()).toHaveAttribute('data-kind', 'withdraw');
  for (const kind of ['airdrop', 'received', 'sent', 'swap', 'stake', 'unstake', 'withdraw', 'reward']) {
    await expect(page.locator(`[data-testid=activity-row][data-kind=${kind}]`).first()).toBeVisible();
  }
  await expect(page.locator('[data-testid=activity-row][data-kind=received]')).toContainText('+0.75 SOL');

  // A filter goes into the address (a view to bookmark) and the rows follow it.
  await page.getByLabel('Kind').selectOption('swap');
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page).toHaveURL(/[?&]kind=swap/);
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText(swap.reference);
  // The row opens its receipt, which leads to the swap's own.
  await rows.first().click();
  await expect(page).toHaveURL(new RegExp(`/activity/${swap.reference}$`));
  await expect(page.getByTestId('receipt-reference')).toHaveText(swap.reference);
  await expect(page.getByTestId('receipt-sent')).toHaveText('2 SOL');
  await expect(page.getByRole('link', { name: 'Swap details' })).toHaveAttribute('href', `/swaps/${swap.reference}`);
  // Look-up by reference, whatever the case.
  await open(page, '/activity');
  await page.getByLabel('Find by reference number').fill(stake.reference.toLowerCase());
  await page.getByRole('button', { name: 'Open' }).click();
  await expect(page.getByTestId('receipt-reference')).toHaveText(stake.reference);

  // The CSV download: summed, it gives every balance, and nothing left staked.
  await open(page, '/activity');
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-csv').click()]);
  expect(download.suggestedFilename()).toBe('solstice-activity.csv');
  const records = parseCsv(readFileSync(await download.path(), 'utf8'));
  const kinds = new Set(records.map((record) => record.kind));
  expect([...kinds].sort()).toEqual(['airdrop', 'received', 'reward', 'sent', 'stake', 'swap', 'unstake', 'withdraw']);
  expect(records.find((record) => record.kind === 'received')?.note).toBe('lunch, "thanks"');
  const portfolio = await call(api, 'my_portfolio', {});
  for (const [token, decimals] of Object.entries(DECIMALS)) {
    const sum = records.reduce(
      (total, record) =>
        total +
        (record.received_token === token ? units(record.received_amount, decimals) : 0n) -
        (record.sent_token === token ? units(record.sent_amount, decimals) : 0n),
      0n,
    );
    const holding = portfolio.holdings.find((h: { token: string }) => h.token === token);
    expect(sum, token).toBe(BigInt(holding?.amount ?? 0));
  }
  const staked = records.reduce((total, record) => total + units(record.staked_change_sol, 9), 0n);
  expect(staked).toBe(BigInt(portfolio.staked.amount));
  expect(errors).toEqual([]);
});

test('a transfer from another browser shows up live: a notice and the new balance, without reloading', async ({ page, browser }) => {
  const errors = watchConsole(page);
  const alice = await signUp(page, '4');
  await open(page, '/portfolio');
  await expect(page.getByTestId('topbar-balance')).toHaveText('4');

  const bobContext = await browser.newContext();
  await bobContext.request.post('/api/sign_up', { form: { password: PASSWORD, confirm_password: PASSWORD, initial_sol: '5' } });
  const sent = await call(bobContext.request, 'send_transfer', { to: alice, token: 'SOL', amount: '1.5', memo: '', idempotency_key: key('live') });
  await bobContext.close();

  // Within a second or two, on the page as it is: the notice, then the balances.
  const notice = page.getByTestId('account-notice');
  await expect(notice).toContainText(/^Received 1\.5 SOL from \w{4}…\w{4}/, { timeout: 5_000 });
  await expect(page.getByTestId('topbar-balance')).toHaveText('5.5');
  await expect(page.getByTestId('holding-SOL').getByTestId('holding-amount')).toContainText('5.5 SOL');
  // The notice opens the transfer's receipt.
  await notice.getByRole('link').click();
  await expect(page.getByTestId('receipt-reference')).toHaveText(sent.reference);
  expect(errors).toEqual([]);
});
