import { expect, test } from '@playwright/test';
import { PASSWORD, logIn, logOut, open, signUp, submitSignUp, watchConsole } from './helpers';

test('a new user signs up, sees their address and balance, logs out and logs back in', async ({ page }) => {
  const errors = watchConsole(page);
  const address = await signUp(page, '250.5');
  await expect(page.getByTestId('signup-success')).toContainText('250.5 SOL');
  await expect(page.getByTestId('signup-success')).toContainText(/AIR-[0-9A-Z]{10}-[0-9A-Z]{6}/);
  await expect(page.getByTestId('topbar-balance')).toHaveText('250.5');

  await page.getByRole('link', { name: 'Go to my wallet' }).click();
  await expect(page.getByTestId('wallet-address')).toHaveText(address);
  await expect(page.getByTestId('sol-balance')).toContainText('250.5');

  // A full reload is rendered by the server from the session alone.
  await page.reload();
  await expect(page.getByTestId('wallet-address')).toHaveText(address);

  await logOut(page);
  await open(page, '/');
  await expect(page.getByTestId('wallet-address')).toHaveCount(0);
  await expect(page.getByRole('link', { name: 'Create a wallet' })).toBeVisible();
  // The sign-up page starts afresh: no trace of the previous visitor's new wallet.
  await open(page, '/signup');
  await expect(page.getByRole('heading', { name: 'Create a wallet' })).toBeVisible();
  await expect(page.getByText(address)).toHaveCount(0);

  await logIn(page, address, PASSWORD);
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByTestId('wallet-address')).toHaveText(address);
  await expect(page.getByTestId('sol-balance')).toContainText('250.5');
  await expect(page.getByTestId('topbar-address')).toHaveText(`${address.slice(0, 4)}…${address.slice(-4)}`);
  expect(errors).toEqual([]);
});

test('a wrong password or unknown address is refused without saying which', async ({ page }) => {
  const address = await signUp(page, '1');
  await logOut(page);

  await logIn(page, address, 'not the password');
  await expect(page.getByRole('alert')).toHaveText('Wrong wallet address or password.');
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByTestId('account')).toHaveCount(0);

  // A well-formed address that has no account gets the very same answer.
  await logIn(page, '11111111111111111111111111111111', PASSWORD);
  await expect(page.getByRole('alert')).toHaveText('Wrong wallet address or password.');

  await logIn(page, 'not-an-address', PASSWORD);
  await expect(page.getByRole('alert')).toContainText('base58');
  await expect(page.getByTestId('account')).toHaveCount(0);
});

test('invalid sign-up inputs get a clear error and create nothing', async ({ page }) => {
  await open(page, '/signup');
  await expect(page.locator('#initial-hint')).toHaveText('Up to 1,000 SOL, credited from the Solstice faucet.');
  const cases: Array<[string, string, string, string | RegExp]> = [
    ['short', 'short', '10', 'Choose a password of at least 10 characters.'],
    [PASSWORD, `${PASSWORD}!`, '10', 'The two passwords do not match.'],
    [PASSWORD, PASSWORD, '5000', 'Choose an initial balance between 0.000000001 and 1,000 SOL.'],
    [PASSWORD, PASSWORD, '0', 'Choose an initial balance between 0.000000001 and 1,000 SOL.'],
    [PASSWORD, PASSWORD, 'lots', 'Enter the amount as a number, like 1.5.'],
    [PASSWORD, PASSWORD, '-3', 'Amounts cannot be negative.'],
    [PASSWORD, PASSWORD, '1.0000000001', 'This token has at most 9 decimal places.'],
  ];
  for (const [password, confirmation, initial, message] of cases) {
    await submitSignUp(page, password, confirmation, initial);
    await expect(page.getByRole('alert')).toHaveText(message);
    await expect(page.getByRole('heading', { name: 'Create a wallet' })).toBeVisible();
    await expect(page.getByTestId('account')).toHaveCount(0);
  }
});

test('pages fit a 360 px wide phone without sideways scrolling', async ({ page }) => {
  await page.setViewportSize({ width: 360, height: 740 });
  const fits = async () => {
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
  };
  await open(page, '/');
  await fits();
  await open(page, '/login');
  await fits();
  await signUp(page, '999.123456789');
  await fits();
  await open(page, '/');
  await expect(page.getByTestId('sol-balance')).toContainText('999.123456789');
  await fits();
  await open(page, '/portfolio');
  await expect(page.getByTestId('holding-SOL')).toBeVisible();
  await fits();
  await open(page, '/markets');
  await expect(page.getByTestId('market-BONK')).toBeVisible();
  await fits();
  await open(page, '/markets/BONK');
  await expect(page.getByTestId('price-chart')).toBeVisible();
  await fits();
  // The money pages, with what makes them widest on screen: a quote's terms, a long address.
  await open(page, '/send');
  await page.getByLabel("Recipient's wallet address").fill('7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU');
  await fits();
  await open(page, '/swap');
  await page.getByRole('textbox', { name: 'You pay' }).fill('999');
  await expect(page.getByTestId('quote').getByTestId('terms')).toBeVisible();
  await fits();
  for (const path of ['/transfers', '/swaps', '/stake', '/activity', '/api-keys']) {
    await open(page, path);
    await expect(page.locator('h1')).toBeVisible();
    await fits();
  }
});

test('the copy button puts the new wallet address on the clipboard', async ({ page, context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  const address = await signUp(page, '1');
  await page.getByRole('button', { name: 'Copy address' }).click();
  await expect(page.getByRole('button', { name: 'Copied' }).first()).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(address);
});
