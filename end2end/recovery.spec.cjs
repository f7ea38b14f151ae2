const { test } = require('node:test');
const assert = require('node:assert/strict');
const { useLatchkey, screenshot, signIn } = require('./harness.cjs');

const env = useLatchkey();

// The code stands on a line of its own in the body; never in the subject.
function codeIn(mail) {
  const subject = mail.split(/\r?\n/).find((l) => l.startsWith('Subject:'));
  assert.doesNotMatch(subject, /\d/, 'no code in the subject');
  return mail.split(/\r?\n/).map((l) => l.trim()).find((l) => /^\d{6}$/.test(l));
}

test('forgot password on acme: emailed code, new password with a strength meter, then sign in', async () => {
  const context = await env.browser.newContext({ viewport: { width: 1200, height: 860 } });
  const page = await context.newPage();
  await page.goto(env.latchkey.url('acme', '/sign-in'));
  await page.getByRole('link', { name: 'Forgot password?' }).click();
  await page.getByTestId('forgot-password').waitFor();
  await page.getByLabel('Email or username').fill('bob@acme.test');
  await screenshot(page, 'recovery-1-forgot-password');
  await page.getByRole('button', { name: 'Email me a code' }).click();

  await page.getByTestId('verify-code').waitFor();
  assert.match(await page.getByTestId('resend').innerText(), /Resend code in \d+ s/);
  assert.equal(await page.getByTestId('resend').isDisabled(), true);
  const mail = await env.latchkey.nextMail('bob@acme.test');
  const code = codeIn(mail);
  assert.match(code, /^\d{6}$/);

  // A wrong code first: a clear message with a support reference.
  await page.getByLabel('Code').fill(code === '000000' ? '111111' : '000000');
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByTestId('error').waitFor();
  assert.match(await page.getByTestId('error').innerText(), /That code is not right/);
  await screenshot(page, 'recovery-2-verify-code-wrong');
  await page.getByLabel('Code').fill(code);
  await page.getByRole('button', { name: 'Verify' }).click();

  await page.getByTestId('set-password').waitFor();
  await page.getByLabel('New password', { exact: true }).fill('password1234');
  await page.getByText(/too easy to guess/).waitFor();
  await screenshot(page, 'recovery-3-weak-password');
  await page.getByLabel('New password', { exact: true }).fill('violet kettle orbit 42');
  await page.getByText(/^(Good|Strong)/).waitFor();
  await page.getByLabel('Type it again').fill('violet kettle orbit 42');
  await page.waitForTimeout(400);
  await screenshot(page, 'recovery-4-strong-password');
  await page.getByRole('button', { name: 'Set new password' }).click();

  await page.getByTestId('sign-in').waitFor();
  await page.getByText('Your password was changed. Sign in with your new password.').waitFor();
  await screenshot(page, 'recovery-5-sign-in-after-reset');
  await signIn(page, 'bob@acme.test', 'violet kettle orbit 42');
  await page.getByTestId('home').waitFor();
  const notice = await env.latchkey.nextMail('bob@acme.test', 1);
  assert.match(notice, /password was changed/);
  await context.close();
});

test('globex (SSO) offers no password recovery and says why', async () => {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  await page.goto(env.latchkey.url('globex', '/forgot-password'));
  await page.getByText(/Password recovery is not available: this workspace signs in with SSO/).waitFor();
  await screenshot(page, 'recovery-globex-sso');
  await context.close();
});

test('an admin-sent reset link opens Set new password on the user\'s own host', async () => {
  const adminToken = env.latchkey.cli(['token', 'create', '--email', 'support@demo-msp.test']);
  const patToken = env.latchkey.cli(['token', 'create', '--email', 'pat@partner.test', '--tenant', 'acme']);
  const pat = await env.latchkey.api('GET', '/users/me', patToken);
  const acme = pat.body.memberships.find((m) => m.tenantSlug === 'acme');
  assert.ok(acme);
  // Pat is in two workspaces: an operator token must say which one.
  const ambiguous = await env.latchkey.api('POST', `/users/${pat.body.id}/password-reset-link`, adminToken);
  assert.equal(ambiguous.status, 422);
  assert.match(ambiguous.body.error.message, /several workspaces/);
  // Acme's own administrator cannot: pat's password is globex's too.
  const acmeAdmin = env.latchkey.cli(['token', 'create', '--email', 'owner@acme.test', '--tenant', 'acme']);
  const refused = await env.latchkey.api('POST', `/users/${pat.body.id}/password-reset-link`, acmeAdmin);
  assert.equal(refused.status, 403);
  assert.match(refused.body.error.message, /also used outside this workspace/);
  assert.doesNotMatch(refused.body.error.message, /Globex/);
  // The operator's support names the workspace whose host the link opens on.
  const seen = await env.latchkey.api('GET', `/users/${pat.body.id}`, adminToken);
  const acmeId = seen.body.memberships.find((m) => m.tenantSlug === 'acme').tenantId;
  const sent = await env.latchkey.api('POST', `/users/${pat.body.id}/password-reset-link`, adminToken, { tenantId: acmeId });
  assert.equal(sent.status, 202, JSON.stringify(sent.body));
  const mail = (await env.latchkey.nextMail('pat@partner.test')).replace(/=\r?\n/g, '').replace(/=3D/g, '=');
  const link = mail.match(/https?:\/\/[^\s"<>]+#token=[A-Za-z0-9_-]+/)[0];
  assert.ok(link.startsWith(env.latchkey.url('acme', '/set-password#token=')));

  const context = await env.browser.newContext({ viewport: { width: 1200, height: 860 } });
  const page = await context.newPage();
  await page.goto(link);
  await page.getByTestId('set-password').waitFor();
  assert.equal(new URL(page.url()).hash, '', 'the token leaves the address bar');
  await page.getByLabel('New password', { exact: true }).fill('granite meadow lantern 9');
  await page.getByLabel('Type it again').fill('granite meadow lantern 9');
  await page.getByText(/^(Good|Strong)/).waitFor();
  await page.waitForTimeout(400); // let the meter's width transition finish
  await screenshot(page, 'admin-reset-link-set-password');
  await page.getByRole('button', { name: 'Set new password' }).click();
  await page.getByText('Your password was changed. Sign in with your new password.').waitFor();
  await signIn(page, 'pat@partner.test', 'granite meadow lantern 9');
  await page.getByTestId('home').waitFor();
  await context.close();
});

test('My account > Change password signs out and back in with the new password', async () => {
  const context = await env.browser.newContext({ viewport: { width: 1200, height: 1100 } });
  const page = await context.newPage();
  await page.goto(env.latchkey.url('acme', '/sign-in'));
  await signIn(page, 'alice', 'Latchkey-demo-2026');
  await page.getByTestId('home').waitFor();
  await page.goto(env.latchkey.url('acme', '/account'));
  await page.getByTestId('change-password').waitFor();
  await page.getByLabel('Current password').fill('Latchkey-demo-2026');
  await page.getByLabel('New password', { exact: true }).fill('copper harbor willow 77');
  await page.getByLabel('Type it again').fill('copper harbor willow 77');
  await page.getByTestId('change-password').getByText(/^(Good|Strong)/).waitFor();
  await page.waitForTimeout(400);
  await screenshot(page, 'my-account-change-password');
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.getByText('Your password was changed. Sign in with your new password.').waitFor();
  await signIn(page, 'alice', 'copper harbor willow 77');
  await page.getByTestId('home').waitFor();
  await context.close();
});
