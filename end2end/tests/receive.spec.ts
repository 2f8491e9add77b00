import { expect, test } from '@playwright/test';
import jsQR from 'jsqr';
import { PNG } from 'pngjs';
import { logOut, open, signUp, watchConsole } from './helpers';

// Receiving: the address as text and as a QR code, copied or shared; the send page's recent
// recipients.

const short = (address: string) => `${address.slice(0, 4)}…${address.slice(-4)}`;

test('the receive page shows the wallet address as a QR code that scans to it', async ({ page }) => {
  const errors = watchConsole(page);
  const address = await signUp(page, '3');
  await open(page, '/');
  await page.getByRole('link', { name: 'Receive', exact: true }).first().click();
  await expect(page).toHaveURL(/\/receive$/);
  await expect(page.getByTestId('receive-address')).toHaveText(address);

  // Decoded from what the screen shows, as a phone's camera would.
  const shot = PNG.sync.read(await page.getByTestId('receive-qr').screenshot());
  const code = jsQR(new Uint8ClampedArray(shot.data), shot.width, shot.height);
  expect(code?.data).toBe(address);
  expect(errors).toEqual([]);
});

test('share hands the address to the share sheet where there is one, and copies it where there is none', async ({ browser }) => {
  for (const hasShareSheet of [true, false]) {
    const context = await browser.newContext();
    await context.grantPermissions(['clipboard-read', 'clipboard-write']);
    const page = await context.newPage();
    await page.addInitScript((withSheet) => {
      if (withSheet) {
        Object.defineProperty(navigator, 'share', {
          value: async (data: ShareData) => void ((window as unknown as { shared: ShareData }).shared = data),
        });
      } else {
        Object.defineProperty(navigator, 'share', { value: undefined });
      }
    }, hasShareSheet);
    const address = await signUp(page, '1');
    await open(page, '/receive');
    await page.getByTestId('share-address').click();
    if (hasShareSheet) {
      await expect(page.getByTestId('share-address')).toHaveText('Shared');
      const shared = await page.evaluate(() => (window as unknown as { shared: ShareData }).shared);
      expect(shared.text).toBe(address);
    } else {
      await expect(page.getByTestId('share-address')).toHaveText('Copied: paste it to share');
      expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(address);
    }
    await context.close();
  }
});

test('the send page offers the wallets sent to last, newest first, and a tap fills in the recipient', async ({ page }) => {
  const errors = watchConsole(page);
  const bob = await signUp(page, '1');
  await logOut(page);
  const carol = await signUp(page, '1');
  await logOut(page);
  await signUp(page, '10');
  await open(page, '/send');
  await expect(page.getByTestId('recent-recipients')).toHaveCount(0);

  for (const [to, i] of [[bob, 0], [carol, 1], [bob, 2]] as const) {
    const form = { to, token: 'SOL', amount: '0.5', memo: '', idempotency_key: `e2e-recent-${Date.now()}-${i}` };
    expect((await page.request.post('/api/send_transfer', { form })).status()).toBe(200);
  }
  await open(page, '/send');
  const recent = page.getByTestId('recent-recipients').getByRole('button');
  await expect(recent).toHaveText([short(bob), short(carol)]);
  await recent.nth(1).click();
  await expect(page.getByLabel("Recipient's wallet address")).toHaveValue(carol);
  expect(errors).toEqual([]);
});
