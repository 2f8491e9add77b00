import { expect, test } from '@playwright/test';
import { fakePriceFeed, open, watchConsole } from './helpers';

const SYMBOLS = ['SOL', 'USDC', 'USDT', 'JUP', 'BONK', 'RAY', 'JTO'];

async function prices(page: import('@playwright/test').Page): Promise<string[]> {
  return page.getByTestId('price').allTextContents();
}

test('the markets page lists every token and prices change live without a reload', async ({ page }) => {
  const errors = watchConsole(page);
  await open(page, '/markets');
  for (const symbol of SYMBOLS) {
    await expect(page.getByTestId(`market-${symbol}`)).toBeVisible();
    await expect(page.getByTestId(`market-${symbol}`).getByTestId('price')).toHaveText(/^\$\d[\d,]*\.\d+$/);
    await expect(page.getByTestId(`market-${symbol}`).getByTestId('change')).toHaveText(/24 hour change: [+-]?\d+\.\d\d%/);
  }
  await expect(page.getByTestId('price-connection')).toHaveText('Live');
  const before = await prices(page);
  await expect.poll(async () => (await prices(page)).join('|'), { timeout: 20_000 }).not.toBe(before.join('|'));
  // Same page, no navigation happened.
  await expect(page).toHaveURL(/\/markets$/);
  expect(errors).toEqual([]);
});

test('a token page shows a chart with history and its range can be changed', async ({ page }) => {
  const errors = watchConsole(page);
  await open(page, '/markets');
  await page.getByTestId('market-SOL').click();
  await expect(page).toHaveURL(/\/markets\/SOL$/);
  await expect(page.getByRole('heading', { name: /Solana/ })).toBeVisible();
  await expect(page.getByTestId('token-price')).toHaveText(/^\$\d[\d,]*\.\d\d$/);
  const line = page.locator('.chart-line');
  await expect(line).toHaveAttribute('d', /^M[\d. L]+$/);
  await page.getByRole('button', { name: '7 days' }).click();
  await expect(page.getByRole('button', { name: '7 days' })).toHaveAttribute('aria-pressed', 'true');
  await expect(page.getByTestId('price-chart')).toHaveAttribute('aria-label', /SOL price over the last 7 days: from \$/);
  // A week of hourly points.
  await expect.poll(async () => ((await line.getAttribute('d')) ?? '').split('L').length).toBeGreaterThan(100);
  await open(page, '/markets/NOPE');
  await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
  expect(errors.filter((e) => !e.includes('404'))).toEqual([]);
});

test('the connection state shows when prices stop and when they are stale', async ({ page }) => {
  // The price socket is cut at once: the page says it is reconnecting.
  await page.routeWebSocket('**/ws/prices', (socket) => socket.close());
  await open(page, '/markets');
  await expect(page.getByTestId('price-connection')).toHaveText('Reconnecting…');
  await page.unrouteAll();

  // A feed that sends one tick and then falls silent is marked stale a few seconds later.
  const stale = await page.context().newPage();
  let connections = 0;
  await stale.routeWebSocket('**/ws/prices', (socket) => {
    connections += 1;
    if (connections === 1) {
      const now = Date.now();
      socket.send(JSON.stringify({
        seq: 1, at_ms: now, sent_ms: now, fresh_ms: 10_000, market: 'live', sources: ['kraken'],
        prices: [{ token: 'SOL', price: 150_000_000_000_000, change_24h_bps: 12, suspect: false }],
      }));
    }
  });
  await open(stale, '/markets');
  await expect(stale.getByTestId('price-connection')).toHaveText('Prices stale');
  await expect(stale.getByTestId('market-SOL').getByTestId('price')).toHaveText('$150.00');
  await expect(stale.getByTestId('market-SOL').getByTestId('price')).toHaveClass(/stale/);
});

test('the markets page says where prices come from and how old they are', async ({ page }) => {
  await open(page, '/markets');
  // No network in the test environment: the platform records the simulated market, and says so.
  await expect(page.getByTestId('simulated-market')).toHaveText('Simulated market');
  await expect(page.getByTestId('price-source')).toContainText('Simulated prices, not a real market');
  await expect(page.getByTestId('price-age')).toHaveText(/updated \d+ s ago/);
  await page.getByTestId('market-SOL').click();
  await expect(page.getByTestId('simulated-market')).toBeVisible();
});

test('live prices that stopped updating are shown as stale, with their sources and age', async ({ page }) => {
  // The host keeps sending the latest tick every second, but the recorder wrote it 90 s ago
  // (its sources are down); the sources disagree about JUP.
  const at = Date.now() - 90_000;
  await fakePriceFeed(page, at, ['coinbase', 'kraken'], [
    { token: 'SOL', price: 150_000_000_000_000, change_24h_bps: 12, suspect: false },
    { token: 'JUP', price: 550_000_000_000, change_24h_bps: null, suspect: true },
  ]);
  await open(page, '/markets');
  await expect(page.getByTestId('price-connection')).toHaveText('Prices stale');
  await expect(page.getByTestId('price-source')).toContainText('Live prices from Coinbase and Kraken');
  await expect(page.getByTestId('price-age')).toHaveText(/updated 1 min ago/);
  await expect(page.getByTestId('simulated-market')).toHaveCount(0);
  await expect(page.getByTestId('market-SOL').getByTestId('price')).toHaveText('$150.00');
  await expect(page.getByTestId('market-JUP').getByTestId('suspect')).toHaveText('Sources disagree: swaps paused');
  await expect(page.getByTestId('market-SOL').getByTestId('suspect')).toHaveCount(0);
});
