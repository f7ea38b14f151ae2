const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { useLatchkey, screenshot, signIn, checkAccessibility } = require('./harness.cjs');

const env = useLatchkey();

async function console_(browser, email = 'admin@demo-msp.test') {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(env.latchkey.url('admin', '/sign-in'));
  await signIn(page, email);
  await page.getByTestId('home').waitFor();
  return { context, page };
}

test('a pasted support reference opens the event on the user’s Edit User page', async () => {
  const user = await (await env.browser.newContext()).newPage();
  await user.goto(env.latchkey.url('acme', '/sign-in'));
  await signIn(user, 'bob@acme.test', 'not the password 1');
  await user.getByTestId('support-ref').waitFor();
  const reference = await user.getByTestId('support-ref').innerText();

  const { context, page } = await console_(env.browser, 'support@demo-msp.test');
  await page.getByTestId('console-search').fill(`Ref ${reference.toLowerCase()}`);
  await page.getByTestId('console-search').press('Enter');
  await page.getByTestId('edit-user').getByRole('heading', { name: 'Bob Builder', level: 1 }).waitFor();
  await page.getByTestId('referenced-event').getByText(reference).waitFor();
  await page.locator(`tr.highlight[data-reference="${reference}"]`).waitFor();
  await screenshot(page, 'console-search-reference');

  // Any other text searches the users.
  await page.getByTestId('console-search').fill('erin');
  await page.getByTestId('console-search').press('Enter');
  await page.getByRole('tab', { name: 'All (1)' }).waitFor();
  await page.locator('[data-testid="user-row"][data-email="erin@acme.test"]').waitFor();
  assert.equal(await page.getByTestId('user-row').count(), 1);
  assert.equal(await page.getByLabel('Search', { exact: true }).inputValue(), 'erin');
  await context.close();
});

test('Edit User: the access diagnosis fixes in place; the email changes only when confirmed', async () => {
  const { context, page } = await console_(env.browser);
  await page.goto(env.latchkey.url('admin', '/users?q=dave'));
  await page.getByRole('link', { name: 'Dave Locked' }).click();
  const diagnosis = page.getByTestId('access-diagnosis');
  await diagnosis.locator('[data-kind="locked"]').waitFor();
  assert.match(await diagnosis.innerText(), /The account is locked/);
  const status = page.getByTestId('status-block').first();
  assert.match(await status.innerText(), /Locked/);
  // A locked account can still have its access disabled; Enable Access is for disabled ones.
  assert.equal(await status.getByRole('button', { name: 'Disable Access' }).isDisabled(), false);
  assert.equal(await status.getByRole('button', { name: 'Enable Access' }).count(), 0);
  await screenshot(page, 'edit-user-locked');
  await checkAccessibility(page, 'Edit User');

  await diagnosis.getByTestId('fix').filter({ hasText: 'Unlock Account' }).click();
  await page.getByTestId('toast').getByText("Dave Locked's account was unlocked.").waitFor();
  await diagnosis.getByText('Yes: nothing stops the next sign-in.').waitFor();

  // Email change: the new address confirms, then it applies.
  await page.getByTestId('new-email').fill('dave.new@acme.test');
  await page.getByRole('button', { name: 'Change email' }).click();
  await page.getByTestId('pending-email').getByText(/Waiting for dave\.new@acme\.test/).waitFor();
  assert.equal(await page.getByTestId('email').innerText(), 'dave@acme.test');
  await screenshot(page, 'edit-user-email-pending');
  const mail = await env.latchkey.nextMail('dave.new@acme.test');
  const link = mail.replace(/=\r?\n/g, '').replace(/=3D/g, '=').match(/http:\/\/acme\.localhost:\d+\/confirm-email#token=[\w-]+/)[0];
  const confirm = await (await env.browser.newContext({ viewport: { width: 390, height: 800 } })).newPage();
  await confirm.goto(link);
  await confirm.getByRole('button', { name: 'Confirm new email' }).click();
  await confirm.getByText('Done: you now sign in with dave.new@acme.test.').waitFor();
  await screenshot(confirm, 'confirm-email-done');
  await checkAccessibility(confirm, 'Confirm email');
  await page.reload();
  await page.getByTestId('email').getByText('dave.new@acme.test').waitFor();
  await env.latchkey.nextMail('dave@acme.test');

  // A phone-width window.
  await page.setViewportSize({ width: 390, height: 800 });
  await screenshot(page, 'edit-user-phone');
  await context.close();
});

test('bulk selection: one confirmation, a result for each row', async () => {
  const { context, page } = await console_(env.browser);
  await page.goto(env.latchkey.url('admin', '/users'));
  await page.getByLabel('Workspace').selectOption({ label: 'Acme Corp' });
  await page.getByRole('tab', { name: 'All (7)' }).waitFor();
  // The download is exactly what the screen shows.
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('csv').click()]);
  const csv = fs.readFileSync(await download.path(), 'utf8');
  const csvEmails = csv.trim().split('\n').slice(1).map((line) => line.split(',')[0]);
  const shown = await page.getByTestId('user-row').evaluateAll((rows) => rows.map((r) => r.dataset.email));
  assert.deepEqual(csvEmails, shown);
  for (const email of ['owner@acme.test', 'carol@acme.test']) {
    await page.locator(`[data-testid="user-row"][data-email="${email}"]`).getByTestId('select-row').check();
  }
  await page.getByTestId('bulk-bar').getByText('2 selected').waitFor();
  await page.getByTestId('bulk-bar').getByRole('button', { name: 'Resend Invites' }).click();
  const dialog = page.getByTestId('confirm-dialog');
  await dialog.getByText('Resend the invite to 2 users?').waitFor();
  await screenshot(page, 'users-bulk-dialog');
  await dialog.getByRole('button', { name: 'Resend Invites' }).click();
  const results = page.getByTestId('bulk-results');
  await results.waitFor();
  const lines = await results.locator('li').allInnerTexts();
  assert.equal(lines.length, 2, lines.join('\n'));
  assert.ok(lines.some((l) => /carol@acme\.test — Done/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /owner@acme\.test — Not done/.test(l)), lines.join('\n'));
  await page.getByTestId('toast').getByText('Resend Invites: 1 of 2 done.').waitFor();
  await screenshot(page, 'users-bulk-results');
  await context.close();
});

test('impersonation: confirmed, a banner on every page, ended in one click, audited', async () => {
  const { context, page } = await console_(env.browser);
  const token = env.latchkey.cli(['token', 'create', '--email', 'admin@demo-msp.test']);
  const bob = (await env.latchkey.api('GET', '/users?q=bob%40acme', token)).body.users[0].userId;
  await page.goto(env.latchkey.url('admin', `/users/${bob}`));
  const status = page.getByTestId('status-block').first();
  await status.getByRole('button', { name: 'Impersonate' }).click();
  const dialog = page.getByTestId('confirm-dialog');
  await dialog.getByText('Impersonate Bob Builder?').waitFor();
  const [tab] = await Promise.all([
    context.waitForEvent('page'),
    dialog.getByRole('button', { name: 'Impersonate' }).click(),
  ]);
  const banner = tab.getByTestId('impersonation-banner');
  await banner.waitFor();
  assert.match(await banner.innerText(), /admin@demo-msp\.test[\s\S]*bob@acme\.test/);
  await tab.getByTestId('home').waitFor();
  await screenshot(tab, 'impersonation-banner');
  await checkAccessibility(tab, 'Impersonated home');
  await tab.goto(env.latchkey.url('acme', '/account'));
  await banner.waitFor();
  await tab.getByRole('button', { name: 'End impersonation' }).click();
  await tab.waitForURL(/admin\.localhost/);
  const audit = await env.latchkey.api('GET', '/audit?action=user.impersonation_ended', token);
  assert.equal(audit.body.entries.length, 1, JSON.stringify(audit.body));
  await context.close();
});

test('tenants: create, settings with policy overrides, Tenant › Users, and the Roles tab', async () => {
  const { context, page } = await console_(env.browser);
  await page.getByRole('link', { name: 'Tenants' }).click();
  await page.getByTestId('tenant-table').waitFor();
  await page.getByLabel('Name').fill('Umbrella Inc');
  assert.equal(await page.getByLabel('Subdomain').inputValue(), 'umbrella-inc');
  await page.getByRole('button', { name: 'Create tenant' }).click();
  await page.getByTestId('toast').getByText(/Umbrella Inc was created/).waitFor();
  await page.locator('[data-testid="tenant-row"][data-slug="umbrella-inc"]').waitFor();
  await screenshot(page, 'tenants');
  await checkAccessibility(page, 'Tenants');
  await page.getByLabel('Subdomain').fill('admin');
  await page.getByLabel('Name').fill('Another');
  await page.getByLabel('Subdomain').fill('admin');
  await page.getByRole('button', { name: 'Create tenant' }).click();
  await page.getByTestId('error').waitFor();

  const acme = page.locator('[data-testid="tenant-row"][data-slug="acme"]');
  await acme.getByRole('link', { name: 'Settings' }).click();
  await page.getByTestId('tenant-settings').getByRole('heading', { name: 'Acme Corp settings' }).waitFor();
  await page.getByTestId('invite-link-days').fill('40');
  await page.getByRole('button', { name: 'Save settings' }).click();
  await page.getByTestId('error').getByText('Invite links work 1 to 30 days.').waitFor();
  await page.getByTestId('invite-link-days').fill('3');
  await page.getByRole('button', { name: 'Save settings' }).click();
  await page.getByTestId('toast').getByText('The settings were saved.').waitFor();
  await screenshot(page, 'tenant-settings');
  await checkAccessibility(page, 'Tenant settings');
  await page.getByRole('link', { name: 'Users of Acme Corp' }).click();
  await page.getByRole('tab', { name: 'All (7)' }).waitFor();

  await page.getByRole('tab', { name: 'Roles' }).click();
  await page.getByTestId('role-table').waitFor();
  const roles = await page.getByTestId('role-row').allInnerTexts();
  for (const name of ['Administrator', 'Support', 'Read-only', 'Member']) {
    assert.ok(roles.some((r) => r.startsWith(name)), roles.join('\n'));
  }
  const newRole = page.locator('section', { has: page.getByRole('heading', { name: 'New role' }) });
  await newRole.getByLabel('Role name').fill('Helpdesk');
  await newRole.getByRole('combobox').selectOption({ label: 'Acme Corp' });
  await newRole.getByRole('checkbox', { name: /users\.read/ }).check();
  await newRole.getByRole('checkbox', { name: /users\.support/ }).check();
  await newRole.getByRole('button', { name: 'Create role' }).click();
  await page.getByTestId('toast').getByText('The role Helpdesk was created.').waitFor();
  await page.getByTestId('role-row').filter({ hasText: 'Custom · Acme Corp' }).waitFor();
  await screenshot(page, 'roles');
  await checkAccessibility(page, 'Roles');
  await context.close();
});
