const { test } = require('node:test');
const assert = require('node:assert/strict');
const { useLatchkey, screenshot, signIn, checkAccessibility } = require('./harness.cjs');

const env = useLatchkey();

test('an admin creates an API token, uses it in the interactive docs, and revokes it', async () => {
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: env.latchkey.url('admin', '') });
  const page = await context.newPage();
  await page.goto(env.latchkey.url('admin', '/sign-in'));
  await signIn(page, 'admin@demo-msp.test');
  await page.getByRole('link', { name: 'Settings › API tokens' }).click();
  await page.getByRole('heading', { name: 'API tokens' }).waitFor();
  await page.getByTestId('empty').waitFor();

  await page.getByLabel('Name').fill('nightly MFA report');
  await page.getByLabel('Role').selectOption('read_only');
  await page.getByRole('button', { name: 'Create token' }).click();
  const shown = page.getByTestId('new-token');
  await shown.waitFor();
  const token = await shown.getByTestId('copy-value').innerText();
  assert.match(token, /^lk_/);
  await shown.getByRole('button', { name: 'Copy' }).click();
  await shown.getByRole('button', { name: 'Copied' }).waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), token);
  await page.getByTestId('token-row').first().waitFor();
  assert.match(await page.getByTestId('token-row').first().innerText(), /nightly MFA report[\s\S]*Read-only[\s\S]*Never/);
  await screenshot(page, 'api-tokens-created');
  await checkAccessibility(page, 'API tokens');

  // The docs are served by Latchkey itself; authorize with the new token and call /users/me.
  const docsPromise = context.waitForEvent('page');
  await page.getByTestId('docs-link').click();
  const docs = await docsPromise;
  await docs.waitForLoadState();
  await docs.getByRole('button', { name: /Authorize/ }).first().waitFor();
  await docs.getByRole('button', { name: /Authorize/ }).first().click();
  await docs.locator('.modal-ux input[type="text"]').fill(token);
  await docs.locator('.modal-ux .auth-btn-wrapper button.authorize').click();
  await docs.locator('.modal-ux .auth-btn-wrapper button.btn-done').click();
  const me = docs.locator('#operations-users-me');
  await me.locator('.opblock-summary').click();
  await me.getByRole('button', { name: 'Execute' }).click();
  await me.locator('.live-responses-table .response-col_status').first().waitFor();
  assert.match(await me.locator('.live-responses-table').innerText(), /200[\s\S]*admin@demo-msp\.test/);
  await screenshot(docs, 'api-docs-try-it');
  await docs.close();

  // Revoke it: a confirmation first, then the token stops working.
  await page.getByTestId('token-row').first().getByRole('button', { name: 'Revoke' }).click();
  const dialog = page.getByTestId('confirm-dialog');
  await dialog.waitFor();
  assert.match(await dialog.innerText(), /Revoke nightly MFA report\?/);
  await screenshot(page, 'api-tokens-revoke-dialog');
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Revoke', 'focus returns to the button');
  await page.getByTestId('token-row').first().getByRole('button', { name: 'Revoke' }).click();
  await dialog.getByRole('button', { name: 'Revoke token' }).click();
  await page.getByTestId('toast').waitFor();
  await page.getByText('Revoked', { exact: true }).waitFor();
  const after = await env.latchkey.api('GET', '/users/me', token);
  assert.equal(after.status, 401);
  await screenshot(page, 'api-tokens-revoked');
  await context.close();
});
