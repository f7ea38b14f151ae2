const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { useLatchkey, startIdp, screenshot, signIn, checkAccessibility } = require('./harness.cjs');

const env = useLatchkey();
let idp;
before(async () => { idp = await startIdp(); });
after(() => idp?.stop());

async function signInThroughProvider(page, email) {
  await page.getByTestId('continue-with-sso').click();
  await page.getByRole('heading', { name: 'Test identity provider' }).waitFor();
  await page.getByLabel('Email').fill(email);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

test('an admin sets up single sign-on, and members sign in through the provider', async () => {
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(env.latchkey.url('admin', '/sign-in'));
  await signIn(page, 'admin@demo-msp.test');
  await page.getByTestId('home').waitFor();
  await page.goto(env.latchkey.url('admin', '/tenants'));
  await page.locator('[data-testid="tenant-row"][data-slug="acme"]').getByRole('link', { name: 'Settings' }).click();
  const panel = page.getByTestId('sso-settings');
  await panel.waitFor();
  const redirectUri = env.latchkey.url('acme', '/sso/callback');
  assert.equal(await panel.getByTestId('copy-value').innerText(), redirectUri);

  // Test connection says what is wrong with a mistyped issuer, then that the right one works.
  await panel.getByLabel('Issuer URL').fill(idp.issuer.replace('127.0.0.1', 'localhost'));
  await panel.getByRole('button', { name: 'Test connection' }).click();
  const result = panel.getByTestId('sso-test-result');
  await result.getByText('does not belong to this issuer', { exact: false }).waitFor();
  await screenshot(page, 'sso-settings-test-failed');
  await panel.getByLabel('Issuer URL').fill(idp.issuer);
  await panel.getByRole('button', { name: 'Test connection' }).click();
  await result.getByText('The connection works', { exact: false }).waitFor();

  const client = await idp.register(redirectUri);
  await panel.getByLabel('Client ID').fill(client.client_id);
  await panel.getByLabel('Client secret').fill(client.client_secret);
  await panel.getByLabel('Allowed email domains').fill('acme.test');
  await panel.getByRole('button', { name: 'Save single sign-on' }).click();
  await panel.getByTestId('toast').getByText('The single sign-on settings were saved.').waitFor();
  await screenshot(page, 'sso-settings-saved');
  await checkAccessibility(page, 'Tenant settings with single sign-on');

  // With the provider saved, the sign-in mode can be SSO.
  await page.getByLabel('Single sign-on through the workspace', { exact: false }).check();
  await page.getByRole('button', { name: 'Save settings' }).click();
  await page.getByTestId('toast').getByText('The settings were saved.').waitFor();
  await context.close();

  // Bob (invited with a password) now signs in through the provider.
  const bob = await (await env.browser.newContext()).newPage();
  await bob.goto(env.latchkey.url('acme', '/sign-in'));
  await bob.getByTestId('continue-with-sso').waitFor();
  assert.equal(await bob.getByLabel('Password').count(), 0, 'no password form on an SSO workspace');
  await screenshot(bob, 'sso-sign-in');
  await checkAccessibility(bob, 'SSO sign-in');
  await signInThroughProvider(bob, 'bob@acme.test');
  await bob.getByTestId('home').waitFor();
  assert.match(await bob.locator('body').innerText(), /Bob Builder/);
  await screenshot(bob, 'sso-signed-in');

  // Someone with no account is told so, with a reference for the administrator.
  const stranger = await (await env.browser.newContext()).newPage();
  await stranger.goto(env.latchkey.url('acme', '/sign-in'));
  await signInThroughProvider(stranger, 'zed@acme.test');
  const error = stranger.getByTestId('error');
  await error.getByText('no account in this workspace has your email address', { exact: false }).waitFor();
  await stranger.getByTestId('support-ref').waitFor();
  await screenshot(stranger, 'sso-unknown-account');

  // Forgot password explains that this workspace has none.
  await stranger.goto(env.latchkey.url('acme', '/forgot-password'));
  await stranger.getByText('this workspace signs in with SSO', { exact: false }).waitFor();
});
