const { test } = require('node:test');
const assert = require('node:assert/strict');
const { useLatchkey, screenshot, signIn, checkAccessibility } = require('./harness.cjs');

const env = useLatchkey();

test('a support reference pasted into the MFA error logs finds the event; the audit trail shows API changes', async () => {
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 800 } });
  const user = await context.newPage();
  await user.goto(env.latchkey.url('acme', '/sign-in'));
  await signIn(user, 'bob@acme.test', 'not the password 1');
  await user.getByTestId('support-ref').waitFor();
  const reference = await user.getByTestId('support-ref').innerText();

  const admin = await (await env.browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  await admin.goto(env.latchkey.url('admin', '/sign-in'));
  await signIn(admin, 'support@demo-msp.test');
  await admin.getByRole('link', { name: 'Security › MFA error logs' }).click();
  await admin.getByTestId('event-table').waitFor();
  // As people paste it: lower case, no dash.
  await admin.getByLabel('Search', { exact: true }).fill(reference.toLowerCase().replace('-', ''));
  await admin.getByRole('button', { name: 'Apply' }).click();
  await admin.getByTestId('event-row').filter({ hasText: reference }).waitFor();
  assert.equal(await admin.getByTestId('event-row').count(), 1);
  assert.match(await admin.getByTestId('event-row').innerText(), /Login Failed[\s\S]*bob@acme\.test[\s\S]*acme/);
  await screenshot(admin, 'mfa-error-logs-reference');
  await checkAccessibility(admin, 'MFA error logs');

  await admin.getByLabel('Search', { exact: true }).fill('');
  await admin.getByLabel('Type').selectOption({ label: 'Account Lock' });
  await admin.getByRole('button', { name: 'Apply' }).click();
  await admin.getByTestId('empty').waitFor();
  await screenshot(admin, 'mfa-error-logs-empty');

  const token = env.latchkey.cli(['token', 'create', '--email', 'admin@demo-msp.test']);
  const users = await env.latchkey.api('GET', '/users?q=frank', token);
  const frank = users.body.users[0].userId;
  const enabled = await env.latchkey.api('POST', `/users/${frank}/enable`, token);
  assert.equal(enabled.status, 200, JSON.stringify(enabled.body));
  await admin.getByRole('link', { name: 'Security › Audit trail' }).click();
  await admin.getByTestId('audit-table').waitFor();
  const row = admin.getByTestId('audit-row').filter({ hasText: 'user.access_enabled' });
  await row.waitFor();
  assert.match(await row.innerText(), /admin@demo-msp\.test \(API token\)[\s\S]*acme/);
  await admin.getByLabel('Action').selectOption('user.locked');
  await admin.getByRole('button', { name: 'Apply' }).click();
  await admin.getByTestId('empty').waitFor();
  await admin.getByLabel('Action').selectOption('user.access_enabled');
  await admin.getByRole('button', { name: 'Apply' }).click();
  await admin.getByTestId('audit-row').first().waitFor();
  await screenshot(admin, 'audit-trail');
  await checkAccessibility(admin, 'Audit trail');
  await context.close();
});
