import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { describeWhen } from '#test-kit';
import { restClient, startTestServer, type TestServer } from '#test-support';

const CHROMIUM = '/usr/bin/chromium';

/** The reference page in a real browser, against the real server: it must list the API and call it. */
describeWhen(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}`, 'the API reference page (/docs) in Chromium', () => {
  let t: TestServer;
  let browser: Browser;
  let userId: string;

  beforeAll(async () => {
    t = await startTestServer('pglite');
    const created = await restClient(t.url)('POST', '/v2/users/human', t.adminToken, {
      username: 'ada',
      profile: { givenName: 'Ada', familyName: 'Lovelace' },
      email: { email: 'ada@example.com', isVerified: true },
    });
    expect(created.status).toBe(200);
    userId = created.body.userId;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  it('lists AddOTPEmail, and "Try it out" with the token from Authorize reaches the service', async () => {
    const page = await browser.newPage();
    const offSite: string[] = [];
    page.on('request', (req) => {
      if (!req.url().startsWith(t.url)) offSite.push(req.url());
    });
    await page.goto(`${t.url}/docs`);

    const addOtpEmail = page.locator('#operations-UserService-UserService_AddOTPEmail');
    await expect(addOtpEmail.locator('.opblock-summary-path').textContent()).resolves.toContain('/v2/users/{userId}/otp_email');
    await expect(addOtpEmail.locator('.opblock-summary-description').textContent()).resolves.toBe('Add OTP Email for a user');

    // Authorize → the bearer scheme's value → Authorize → Close.
    await page.locator('.scheme-container .btn.authorize').click();
    const dialog = page.locator('.dialog-ux');
    await dialog.locator('input').first().fill(t.adminToken);
    await dialog.locator('.auth-btn-wrapper .btn.authorize').click();
    await dialog.locator('.btn-done').click();

    // GET /v2/users/{userId}: Try it out → userId → Execute.
    const getUser = page.locator('#operations-UserService-UserService_GetUserByID');
    await getUser.locator('.opblock-summary-control').click();
    await getUser.locator('.try-out__btn').click();
    await getUser.locator('tr[data-param-name="userId"] input').fill(userId);
    const answered = page.waitForResponse((res) => res.url() === `${t.url}/v2/users/${userId}`);
    await getUser.locator('.execute').click();
    const response = await answered;
    expect(response.request().headers()['authorization']).toBe(`Bearer ${t.adminToken}`);
    expect(response.status()).toBe(200);

    // The live response panel shows what our service answered: 200 and the user.
    const live = getUser.locator('.live-responses-table');
    await expect(live.locator('tr.response .response-col_status').first().textContent()).resolves.toContain('200');
    await expect(live.locator('tr.response .response-col_description').first().textContent()).resolves.toContain(`"userId": "${userId}"`);
    expect(offSite).toEqual([]); // everything the page loads comes from this server
  });
});
