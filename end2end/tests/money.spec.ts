import { expect, test, type Page } from '@playwright/test';
import { PASSWORD, logIn, logOut, open, signUp, watchConsole } from './helpers';

const short = (address: string) => `${address.slice(0, 4)}…${address.slice(-4)}`;

async function send(page: Page, to: string, amount: string, memo = '') {
  await open(page, '/send');
  await page.getByLabel("Recipient's wallet address").fill(to);
  await page.getByLabel('Amount').fill(amount);
  if (memo) await page.getByLabel('Memo (optional)').fill(memo);
  await page.getByRole('button', { name: 'Review' }).click();
}

test('a transfer arrives and shows in both users\' histories', async ({ page }) => {
  const errors = watchConsole(page);
  const bob = await signUp(page, '1');
  await logOut(page);
  const alice = await signUp(page, '20');

  // Mistakes are caught before anything is sent.
  await send(page, bob, '25');
  await expect(page.getByRole('alert')).toHaveText('Your SOL balance is too low for this transfer.');
  await send(page, '7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU', '1');
  await expect(page.getByRole('alert')).toHaveText('No Solstice wallet has this address.');
  // The browser logs the look-up's 404 answer; that one is expected.
  const expected404 = errors.findIndex((error) => error.includes('status of 404'));
  expect(expected404).toBeGreaterThanOrEqual(0);
  errors.splice(expected404, 1);

  await send(page, bob, '2.5', 'concert tickets');
  const review = page.getByTestId('send-review');
  await expect(review.getByTestId('review-recipient')).toHaveText(bob);
  await expect(review).toContainText(short(bob));
  await expect(review.getByTestId('review-amount')).toHaveText('2.5 SOL');
  await expect(review.getByTestId('review-after')).toHaveText('17.5 SOL');
  await page.getByRole('button', { name: 'Send now' }).click();

  const receipt = page.getByTestId('transfer-receipt');
  await expect(receipt.getByRole('heading', { name: 'Transfer sent' })).toBeVisible();
  const reference = (await receipt.getByTestId('receipt-reference').textContent())?.trim() ?? '';
  expect(reference).toMatch(/^TRF-[0-9A-Z]{10}-[0-9A-Z]{6}$/);
  await expect(page.getByTestId('topbar-balance')).toHaveText('17.5');

  await open(page, '/transfers');
  const mine = page.getByTestId('transfer-row').first();
  await expect(mine).toContainText(`To ${short(bob)}`);
  await expect(mine.getByTestId('transfer-amount')).toHaveText('−2.5 SOL');
  await expect(mine).toContainText('concert tickets');
  await expect(mine).toContainText(reference);

  await logOut(page);
  await logIn(page, bob, PASSWORD);
  await expect(page.getByTestId('topbar-balance')).toHaveText('3.5');
  await open(page, '/transfers');
  const theirs = page.getByTestId('transfer-row').first();
  await expect(theirs).toContainText(`From ${short(alice)}`);
  await expect(theirs.getByTestId('transfer-amount')).toHaveText('+2.5 SOL');
  await theirs.getByRole('link').click();
  await expect(page.getByRole('heading', { name: 'Transfer received' })).toBeVisible();
  await expect(page.getByTestId('receipt-reference')).toHaveText(reference);
  expect(errors).toEqual([]);
});

test('a swap at a live quote opens by its reference number, for its owner only', async ({ page }) => {
  const errors = watchConsole(page);
  await signUp(page, '100');
  await open(page, '/swap');
  await page.getByRole('textbox', { name: 'You pay' }).fill('2');
  const terms = page.getByTestId('quote').getByTestId('terms');
  await expect(terms.getByTestId('terms-pay')).toHaveText('2 SOL');
  await expect(terms.getByTestId('terms-receive')).toHaveText(/^[\d,]+(\.\d+)? USDC$/);
  await expect(terms.getByTestId('terms-fee')).toHaveText(/^[\d.]+ USDC$/);
  await expect(page.getByTestId('quote')).toContainText(/expires in \d+ s/);
  await expect(page.getByTestId('quote').getByTestId('terms-fill')).toHaveText(
    /^The swap fills at the price when you confirm: you receive at least [\d,.]+ USDC, or nothing moves\.$/,
  );
  const receiveText = (await terms.getByTestId('terms-receive').textContent())?.trim() ?? '';

  await page.getByRole('button', { name: 'Review swap' }).click();
  await expect(page.getByTestId('review-countdown')).toHaveText(/^Quote expires in \d+ s$/);
  await page.getByRole('button', { name: 'Confirm swap' }).click();

  const details = page.getByTestId('swap-details');
  await expect(details.getByText('Swap complete. The tokens are in your wallet.')).toBeVisible();
  await expect(details.getByTestId('swap-paid')).toHaveText('2 SOL');
  // Filled at the live price (within the quote's minimum), with the quote shown beside it.
  await expect(details.getByTestId('swap-received')).toHaveText(/^[\d,]+(\.\d+)? USDC$/);
  await expect(details.getByTestId('swap-quoted')).toHaveText(`${receiveText} for 2 SOL`);
  await expect(details.getByTestId('swap-status')).toHaveText('Completed');
  const reference = (await details.getByTestId('swap-reference').textContent())?.trim() ?? '';
  expect(reference).toMatch(/^SWP-[0-9A-Z]{10}-[0-9A-Z]{6}$/);
  await expect(page.getByTestId('topbar-balance')).toHaveText('98');

  // Exact out: ask for a round amount of the other token.
  await open(page, '/swap');
  await page.getByRole('textbox', { name: 'You receive' }).fill('10');
  await expect(page.getByTestId('quote').getByTestId('terms-receive')).toHaveText('10 USDC');

  await open(page, '/swaps');
  await expect(page.getByTestId('swap-row').first()).toContainText(reference);
  await page.getByLabel('Find a swap by reference number').fill(reference.toLowerCase());
  await page.getByRole('button', { name: 'Open' }).click();
  await expect(page.getByTestId('swap-reference')).toHaveText(reference);

  await open(page, '/swaps?token=JUP');
  await expect(page.getByText('No swaps here yet.')).toBeVisible();

  // Another user typing the same reference sees nothing of it.
  await logOut(page);
  await signUp(page, '1');
  await open(page, `/swaps/${reference}`);
  await expect(page.getByRole('heading', { name: 'Swap not found' })).toBeVisible();
  await expect(page.getByRole('alert')).toHaveText(`You have no swap ${reference}.`);
  expect(errors).toEqual([]);
});

test('the swap form: Max pays the whole balance, a custom slippage is quoted, flipping swaps the sides', async ({ page }) => {
  const errors = watchConsole(page);
  await signUp(page, '100');
  await open(page, '/swap');
  const pay = page.getByRole('textbox', { name: 'You pay' });
  const receive = page.getByRole('textbox', { name: 'You receive' });
  const terms = page.getByTestId('quote').getByTestId('terms');

  await page.getByRole('button', { name: 'Max' }).click();
  await expect(pay).toHaveValue('100');
  await expect(terms.getByTestId('terms-pay')).toHaveText('100 SOL');

  const custom = page.getByLabel('Custom slippage tolerance, percent');
  await custom.fill('1.25');
  await expect(terms).toContainText('1.25%');
  await custom.fill('9');
  await expect(page.getByRole('alert')).toHaveText('Choose a slippage tolerance between 0.01% and 5%.');
  await custom.fill('');

  await page.getByRole('button', { name: 'Swap the two tokens' }).click();
  await expect(page.getByTestId('from-token')).toHaveValue('USDC');
  await expect(page.getByTestId('to-token')).toHaveValue('SOL');
  await expect(receive).toHaveValue('100');
  // The fixed side follows its amount: now 100 SOL are bought, and the USDC to pay is quoted.
  await expect(terms.getByTestId('terms-receive')).toHaveText('100 SOL');
  await expect(pay).toHaveValue(/^[\d.]+$/);
  expect(errors).toEqual([]);
});

test('a long transfer history loads older transfers on request', async ({ page }) => {
  const errors = watchConsole(page);
  const bob = await signUp(page, '1');
  await logOut(page);
  await signUp(page, '50');
  // 21 transfers through the app's own server function (a page of history holds 20).
  for (let i = 0; i < 21; i++) {
    const form = { to: bob, token: 'SOL', amount: '0.1', memo: `n${i}`, idempotency_key: `e2e-history-${Date.now()}-${i}` };
    const response = await page.request.post('/api/send_transfer', { form });
    expect(response.status()).toBe(200);
  }
  await open(page, '/transfers');
  await expect(page.getByTestId('transfer-row')).toHaveCount(20);
  await expect(page.getByTestId('transfer-row').first()).toContainText('n20');
  await page.getByRole('button', { name: 'Show older transfers' }).click();
  await expect(page.getByTestId('transfer-row')).toHaveCount(21);
  await expect(page.getByTestId('transfer-row').last()).toContainText('n0');
  await expect(page.getByRole('button', { name: 'Show older transfers' })).toHaveCount(0);
  expect(errors).toEqual([]);
});
