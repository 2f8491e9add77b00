import { expect, test } from '@playwright/test';
import { fakePriceFeed, open, signUp, watchConsole } from './helpers';

test('the portfolio shows holdings at live prices that update without a reload', async ({ page }) => {
  const errors = watchConsole(page);
  await signUp(page, '250.5');
  await page.getByRole('link', { name: 'Portfolio' }).click();
  await expect(page).toHaveURL(/\/portfolio$/);
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');

  const sol = page.getByTestId('holding-SOL');
  await expect(sol.getByTestId('holding-amount')).toHaveText('250.5 SOL');
  await expect(sol.getByTestId('holding-value')).toHaveText(/^\$\d{1,3}(,\d{3})*\.\d\d$/);
  await expect(sol).toContainText('100.00%');
  await expect(page.getByRole('img', { name: /Allocation: SOL 100.00%/ })).toBeVisible();
  await expect(page.getByTestId('total-value')).toHaveText(await sol.getByTestId('holding-value').innerText());
  await expect(page.getByTestId('price-connection')).toHaveText('Live');

  const before = await page.getByTestId('total-value').innerText();
  await expect.poll(() => page.getByTestId('total-value').innerText(), { timeout: 20_000 }).not.toBe(before);
  await expect(page).toHaveURL(/\/portfolio$/);
  expect(errors).toEqual([]);
});

test('a visitor is asked to log in to see a portfolio', async ({ page }) => {
  await open(page, '/portfolio');
  await expect(page.getByText('Log in to see your portfolio.')).toBeVisible();
});

test('when prices stop updating, the portfolio says its values are as of their time', async ({ page }) => {
  await signUp(page, '10');
  // The host keeps sending the latest tick, but the recorder took it at 10:00 UTC today and
  // nothing since (its sources are down).
  const at = new Date();
  at.setUTCHours(10, 0, 0, 0);
  if (at.getTime() > Date.now()) at.setUTCDate(at.getUTCDate() - 1);
  await fakePriceFeed(page, at.getTime(), ['kraken'], [
    { token: 'SOL', price: 100_000_000_000_000, change_24h_bps: null, suspect: false },
  ]);
  await open(page, '/portfolio');
  await expect(page.getByTestId('price-connection')).toHaveText('Prices stale');
  await expect(page.getByTestId('total-value')).toHaveText('$1,000.00');
  await expect(page.getByTestId('values-as-of')).toHaveText(/^Prices are stale: values as of \d+ \w{3} \d{4}, 10:00 UTC\.$/);
});

test('the value over time draws, extends with the live prices, changes range, and shows what each holding cost', async ({ page }) => {
  const errors = watchConsole(page);
  await signUp(page, '40');
  await open(page, '/portfolio');
  const chart = page.getByTestId('value-chart');
  await expect(chart).toHaveAttribute('aria-label', /^Total value over 24 hours: from \$[\d,]+\.\d\d to \$[\d,]+\.\d\d$/);
  const line = chart.locator('path.chart-line');
  const points = async () => ((await line.getAttribute('d')) ?? '').split(/[ML]/).filter((part) => part.trim()).length;
  const drawn = await points();
  expect(drawn).toBeGreaterThanOrEqual(1);
  // Each live tick adds a point at the holdings' new value.
  await expect.poll(points, { timeout: 15_000 }).toBeGreaterThan(drawn + 1);
  await expect(page.getByTestId('history-change')).toHaveText(/^([+−]\$[\d,]+\.\d\d \([+-]?\d+\.\d\d%\)|\$0\.00 \(0\.00%\)) over 24 hours$/);

  // The sign-up's 40 SOL cost what SOL was worth then.
  await expect(page.getByTestId('pnl-SOL')).toContainText(/^SOL40 SOL · worth \$[\d,]+\.\d\dcost \$[\d,]+\.\d\d · /);

  // Another range, in the address.
  await page.getByTestId('range-7d').click();
  await expect(page).toHaveURL(/\/portfolio\?range=7d$/);
  await expect(page.getByTestId('range-7d')).toHaveAttribute('aria-current', 'page');
  await expect(chart).toHaveAttribute('aria-label', /^Total value over 7 days: /);
  expect(errors).toEqual([]);
});
