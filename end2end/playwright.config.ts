import { defineConfig, devices } from '@playwright/test';

// Debian's Chromium, never a downloaded browser. These flags keep it from reaching for the
// network at start-up, which this machine's closed network refuses.
const launchOptions = {
  executablePath: '/usr/bin/chromium',
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
};

export default defineConfig({
  testDir: './tests',
  outputDir: './test-results',
  globalSetup: './global-setup.ts',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: true,
  workers: 2,
  // One more try for a test that fails: two browsers, a debug host and five services share two
  // cores, and a rare timing miss should not cost a whole run. A test that needed it is named in
  // the test command's summary as flaky, so it is looked at rather than hidden.
  retries: 1,
  use: {
    baseURL: process.env.BASE_URL ?? 'http://127.0.0.1:3000',
    trace: 'retain-on-failure',
  },
  projects: [
    { name: 'desktop', use: { ...devices['Desktop Chrome'], launchOptions } },
    { name: 'phone', use: { ...devices['Pixel 7'], launchOptions } },
  ],
});
