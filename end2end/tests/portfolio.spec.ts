import { expect, test } from '@playwright/test';
import { open, signUp, watchConsole } from './helpers';

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
