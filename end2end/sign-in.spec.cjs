const { test } = require('node:test');
const assert = require('node:assert/strict');
const { useLatchkey, screenshot, signIn, checkAccessibility } = require('./harness.cjs');

const env = useLatchkey();

async function newPage() {
  const context = await env.browser.newContext({ viewport: { width: 1200, height: 800 } });
  return { context, page: await context.newPage() };
}

test('an admin signs in on admin.localhost and sees the console and My account', async () => {
  const { context, page } = await newPage();
  await page.goto(env.latchkey.url('admin'));
  await page.getByRole('heading', { name: 'Sign in to the Demo MSP admin console' }).waitFor();
  await screenshot(page, 'admin-sign-in');
  await signIn(page, 'admin@demo-msp.test');
  await page.getByTestId('home').waitFor();
  assert.match(await page.getByTestId('home').innerText(), /Admin console/);
  assert.equal(await page.getByTestId('viewer-name').innerText(), 'Ada Administrator');
  await screenshot(page, 'admin-home');
  await checkAccessibility(page, 'Console overview');
  await page.getByTestId('home').getByRole('link', { name: 'My account' }).click();
  await page.getByTestId('account').waitFor();
  await page.getByTestId('profile-email').waitFor();
  assert.equal(await page.getByTestId('profile-email').innerText(), 'admin@demo-msp.test');
  await screenshot(page, 'admin-my-account');
  await checkAccessibility(page, 'My account (console)');
  await page.getByTestId('sign-out').click();
  await page.getByTestId('sign-in').waitFor();
  await context.close();
});

test('a tenant user signs in on acme.localhost by username', async () => {
  const { context, page } = await newPage();
  await page.goto(env.latchkey.url('acme', '/account'));
  await page.getByRole('heading', { name: 'Sign in to Acme Corp' }).waitFor();
  await signIn(page, 'bob');
  await page.getByTestId('home').waitFor();
  await page.goto(env.latchkey.url('acme', '/account'));
  await page.getByTestId('sessions').waitFor();
  assert.match(await page.getByTestId('sessions').innerText(), /This browser/);
  await screenshot(page, 'acme-my-account');
  await context.close();
});

test('an acme session is worthless on globex, even with the cookie copied over', async () => {
  const { context, page } = await newPage();
  await page.goto(env.latchkey.url('acme'));
  await signIn(page, 'pat@partner.test');
  await page.getByTestId('home').waitFor();
  const acmeCookies = await context.cookies(env.latchkey.url('acme'));
  const session = acmeCookies.find((c) => c.name === 'lk_session');
  assert.ok(session, 'acme gave a session cookie');
  assert.equal(session.httpOnly, true);
  await context.addCookies([{ name: 'lk_session', value: session.value, url: env.latchkey.url('globex') }]);
  await page.goto(env.latchkey.url('globex'));
  await page.getByRole('heading', { name: 'Sign in to Globex Inc' }).waitFor();
  assert.equal(await page.getByTestId('viewer-name').count(), 0);
  await screenshot(page, 'globex-sign-in-with-acme-cookie');
  await context.close();
});

test('an unknown workspace gets the no-such-workspace page', async () => {
  const { context, page } = await newPage();
  const response = await page.goto(env.latchkey.url('umbrella'));
  assert.equal(response.status(), 404);
  await page.getByRole('heading', { name: 'No such workspace' }).waitFor();
  await screenshot(page, 'unknown-workspace');
  await context.close();
});

// Submits the form and waits for the answer: every refusal carries a new support reference.
async function refusedSignIn(page, identifier, password) {
  const before = await page.evaluate(() => document.querySelector('[data-testid="support-ref"]')?.innerText ?? '');
  await signIn(page, identifier, password);
  await page.waitForFunction((prev) => {
    const el = document.querySelector('[data-testid="support-ref"]');
    return el && el.innerText !== prev;
  }, before);
}

test('five wrong passwords lock the account, and the page shows a support reference', async () => {
  const { context, page } = await newPage();
  await page.goto(env.latchkey.url('acme'));
  await refusedSignIn(page, 'erin@acme.test', 'not my password');
  assert.match(await page.getByTestId('error').innerText(), /Invalid username or password/);
  await screenshot(page, 'acme-invalid-password');
  for (let i = 2; i <= 4; i++) {
    await refusedSignIn(page, 'erin@acme.test', `not my password ${i}`);
    assert.match(await page.getByTestId('error').innerText(), /Invalid username or password/);
  }
  await refusedSignIn(page, 'erin@acme.test', 'not my password 5');
  assert.match(await page.getByTestId('error').innerText(), /Your account is locked\. Contact your administrator\./);
  // Even the right password is refused now.
  await refusedSignIn(page, 'erin@acme.test', 'Latchkey-demo-2026');
  assert.match(await page.getByTestId('error').innerText(), /Your account is locked/);
  assert.match(await page.getByTestId('support-ref').innerText(), /^[0-9A-Z]{4}-[0-9A-Z]{4}$/);
  await screenshot(page, 'acme-locked');
  await context.close();
});
