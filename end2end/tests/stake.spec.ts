import { expect, test } from '@playwright/test';
import { open, signUp, watchConsole } from './helpers';

// The test platform runs six-second epochs (scripts/test sets STAKE_EPOCH_SECONDS=6).
test('stake SOL, watch it activate and earn, unstake and withdraw', async ({ page }) => {
  test.setTimeout(120_000);
  const errors = watchConsole(page);
  await signUp(page, '100');
  await open(page, '/stake');
  await expect(page.getByTestId('stake-available')).toHaveText('Available: 100 SOL');
  await expect(page.getByRole('progressbar', { name: 'Epoch progress' })).toBeVisible();
  await expect(page.getByTestId('epoch-countdown')).toHaveText(/Next epoch in \d+ s|Starting the next epoch/);

  await page.getByLabel('Amount').fill('0.001');
  await page.getByRole('button', { name: 'Stake', exact: true }).click();
  await expect(page.getByRole('alert')).toHaveText('Stake at least 0.01 SOL.');

  await page.getByRole('radio', { name: /Meridian Nodes/ }).check();
  await page.getByLabel('Amount').fill('40');
  await page.getByRole('button', { name: 'Stake', exact: true }).click();
  const account = page.getByTestId('stake-account').first();
  // Activating until the next boundary, which with six-second epochs may come before the page
  // shows the new account.
  await expect(account.getByTestId('stake-state')).toHaveText(/^(Activating|Active)$/);
  await expect(account).toContainText('Meridian Nodes');
  await expect(page.getByTestId('topbar-balance')).toHaveText('60');

  // The next boundary activates it; the one after pays its first reward.
  await expect(account.getByTestId('stake-state')).toHaveText('Active', { timeout: 20_000 });
  await expect(account.getByTestId('stake-rewards')).not.toHaveText('+0 SOL rewards', { timeout: 20_000 });
  await expect(page.getByTestId('total-rewards')).not.toHaveText('0 SOL');

  // The portfolio counts staked SOL and shows its rewards.
  await open(page, '/portfolio');
  const staked = page.getByTestId('holding-staked');
  await expect(staked.getByTestId('staked-amount')).toHaveText(/^40(\.\d+)? SOL$/);
  await expect(staked.getByTestId('staked-rewards')).toHaveText(/^\+0\.\d+ SOL rewards$/);
  await open(page, '/stake');

  await account.getByRole('button', { name: 'Unstake' }).click();
  await expect(account.getByTestId('stake-state')).toHaveText('Deactivating');
  await expect(account.getByRole('button', { name: 'Withdraw' })).toHaveCount(0);
  await expect(account.getByTestId('stake-state')).toHaveText('Inactive', { timeout: 20_000 });
  const amount = (await account.getByTestId('stake-amount').textContent())?.trim() ?? '';
  expect(amount).toMatch(/^40\.\d+ SOL$/);
  await account.getByRole('button', { name: 'Withdraw' }).click();
  await expect(account.getByTestId('stake-state')).toHaveText('Withdrawn');
  // Principal and rewards are back in the wallet (rewards of six-second epochs are tiny).
  await expect(page.getByTestId('topbar-balance')).toHaveText('100');
  await open(page, '/');
  await expect(page.getByTestId('sol-balance')).toHaveText(/^100\.\d+ SOL$/);
  expect(errors).toEqual([]);
});
