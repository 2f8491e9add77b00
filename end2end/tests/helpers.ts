import { expect, type Page } from '@playwright/test';

export const PASSWORD = 'correct horse battery';

/** Collects console errors and uncaught exceptions (hydration problems show up here). */
export function watchConsole(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  return errors;
}

/** Opens a page and waits until the WASM has hydrated it. */
export async function open(page: Page, path: string) {
  await page.goto(path);
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
}

/** Fills and submits the sign-up form (without waiting for the outcome). */
export async function submitSignUp(page: Page, password: string, confirmation: string, initialSol: string) {
  await open(page, '/signup');
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByLabel('Confirm password').fill(confirmation);
  await page.getByLabel('Initial SOL balance').fill(initialSol);
  await page.getByRole('button', { name: 'Create wallet' }).click();
}

/** Signs up a new user and returns the wallet address the platform created. */
export async function signUp(page: Page, initialSol = '250.5'): Promise<string> {
  await submitSignUp(page, PASSWORD, PASSWORD, initialSol);
  await expect(page.getByRole('heading', { name: 'Your wallet is ready' })).toBeVisible();
  const address = (await page.getByTestId('new-address').textContent())?.trim() ?? '';
  expect(address).toMatch(/^[1-9A-HJ-NP-Za-km-z]{32,44}$/);
  return address;
}

export async function logIn(page: Page, address: string, password: string) {
  await open(page, '/login');
  await page.getByLabel('Wallet address').fill(address);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
}

export async function logOut(page: Page) {
  // On a phone, log out is in the tab bar's "More" sheet (the bar comes with the account).
  await expect(page.getByTestId('account')).toBeVisible();
  const more = page.getByTestId('tabbar').getByText('More', { exact: true });
  if (await more.isVisible()) await more.click();
  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByRole('link', { name: 'Sign up' })).toBeVisible();
}

/** One token's price as the host sends it, in picodollars. */
export interface FakePrice {
  token: string;
  price: number;
  change_24h_bps: number | null;
  suspect: boolean;
}

/**
 * Replaces the page's price socket with a host that sends the same tick every second (as the
 * real host does when no new tick comes): taken by the recorder at `atMs` from `sources`,
 * stamped with the time of each sending, so that its age grows.
 */
export async function fakePriceFeed(page: Page, atMs: number, sources: string[], prices: FakePrice[]) {
  await page.routeWebSocket('**/ws/prices', (socket) => {
    const send = () =>
      socket.send(JSON.stringify({
        seq: 7, at_ms: atMs, sent_ms: Date.now(), fresh_ms: 10_000, market: 'live', sources, prices,
      }));
    send();
    const timer = setInterval(send, 1_000);
    socket.onClose(() => clearInterval(timer));
  });
}
