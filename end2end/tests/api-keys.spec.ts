import { expect, request as http, test } from '@playwright/test';
import { open, signUp, watchConsole } from './helpers';

// A personal API key's life: made on the API keys page, shown once, used by a script over
// plain HTTP (no cookies), limited to its scopes, seen as used in the list, revoked, refused.

test('a key is made on the page, works from a script within its scopes, and is refused once revoked', async ({
  page,
  baseURL,
}) => {
  test.setTimeout(90_000);
  const errors = watchConsole(page);
  const address = await signUp(page, '12');
  await open(page, '/api-keys');
  await expect(page.getByTestId('no-api-keys')).toBeVisible();

  await page.getByLabel('Name').fill('tax export');
  // Read is chosen already; add transfer.
  await page.getByLabel('Transfer: send tokens to other wallets').check();
  await page.getByLabel('Expires').selectOption('30');
  await page.getByRole('button', { name: 'Make key' }).click();
  const shown = page.getByTestId('new-api-key-secret');
  await expect(shown).toHaveText(/^sol_[0-9a-f]{12}_[1-9A-HJ-NP-Za-km-z]{32,44}$/);
  const key = (await shown.textContent())!.trim();
  // The key, the page's widest line, wraps on a 360 px phone rather than scrolling sideways.
  const viewport = page.viewportSize()!;
  await page.setViewportSize({ width: 360, height: 740 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await page.setViewportSize(viewport);
  await expect(page.getByTestId('api-key')).toHaveCount(1);
  await expect(page.getByTestId('api-key')).toContainText('tax export');
  await expect(page.getByTestId('api-key')).toContainText('Scopes: read, transfer');
  await expect(page.getByTestId('api-key-last-used')).toHaveText('Last used: never');

  // A script: plain HTTP, no cookies, the key in the header.
  const script = await http.newContext({ baseURL, extraHTTPHeaders: { Authorization: `Bearer ${key}` } });
  const balances = await script.get('/api/v1/balances');
  expect(balances.status()).toBe(200);
  const body = await balances.json();
  expect(body.wallet).toBe(address);
  expect(body.balances.find((b: { token: string }) => b.token === 'SOL').amount).toBe(12_000_000_000);
  // Swapping needs the trade scope, which this key does not have.
  const quote = await script.post('/api/v1/quotes', { data: { from: 'SOL', to: 'USDC', amount: '1', side: 'exact_in' } });
  expect(quote.status()).toBe(403);
  expect((await quote.json()).code).toBe('forbidden');
  // The documentation is served here, and names the endpoint just used.
  const document = await (await script.get('/api/v1/openapi.json')).json();
  expect(Object.keys(document.paths)).toContain('/api/v1/balances');

  // The list now shows the key's last use; the secret is not shown again after leaving.
  await open(page, '/api-keys');
  await expect(page.getByTestId('new-api-key')).toHaveCount(0);
  await expect(page.getByTestId('api-key-last-used')).not.toHaveText('Last used: never');
  await expect(page.locator('body')).not.toContainText(key);

  await page.getByTestId('api-key').getByRole('button', { name: 'Revoke' }).click();
  await expect(page.getByTestId('no-api-keys')).toBeVisible();
  const refused = await script.get('/api/v1/balances');
  expect(refused.status()).toBe(401);
  expect((await refused.json()).code).toBe('unauthorized');
  await script.dispose();
  expect(errors).toEqual([]);
});

test('the API documentation opens in Swagger UI, offline, and its "Authorize" takes a key', async ({ page }) => {
  const outside: string[] = [];
  page.on('request', (request) => {
    if (!request.url().startsWith(new URL(page.url() || 'http://127.0.0.1').origin) && !request.url().startsWith('data:')) {
      outside.push(request.url());
    }
  });
  const errors = watchConsole(page);
  await page.goto('/api/docs/');
  await expect(page.getByText('Solstice API').first()).toBeVisible();
  await expect(page.getByRole('button', { name: /Authorize/ }).first()).toBeVisible();
  await expect(page.getByText('/api/v1/transfers').first()).toBeVisible();
  expect(outside.filter((url) => !url.includes('127.0.0.1') && !url.includes('localhost'))).toEqual([]);
  expect(errors).toEqual([]);
});
