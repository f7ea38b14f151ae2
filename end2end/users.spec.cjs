const { test } = require('node:test');
const assert = require('node:assert/strict');
const { useLatchkey, screenshot, signIn, checkAccessibility } = require('./harness.cjs');

const env = useLatchkey();

async function menuOf(page, email) {
  const row = page.locator(`[data-testid="user-row"][data-email="${email}"]`).first();
  await row.getByRole('button', { name: `Actions for ${email}` }).click();
  const menu = row.getByTestId('row-menu');
  await menu.waitFor();
  return { row, menu };
}

async function items(menu) {
  return (await menu.getByRole('menuitem').allInnerTexts()).map((t) => t.split('\n')[0].trim());
}

test('the users list: filters, counts, row menus by status, confirmations and toasts', async () => {
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(env.latchkey.url('admin', '/sign-in'));
  await signIn(page, 'admin@demo-msp.test');
  await page.getByRole('link', { name: 'Settings › Users and Roles' }).click();
  await page.getByTestId('user-table').waitFor();
  await page.getByLabel('Workspace').selectOption({ label: 'Acme Corp' });
  await page.getByRole('tab', { name: 'Locked (1)' }).waitFor();
  assert.equal(await page.getByRole('tab', { name: /^All/ }).innerText(), 'All (7)');
  await screenshot(page, 'users-acme');
  // The role filter.
  await page.getByRole('combobox', { name: /^Role/ }).selectOption({ label: 'Administrator' });
  await page.getByRole('tab', { name: 'All (1)' }).waitFor();
  await page.locator('[data-testid="user-row"][data-email="owner@acme.test"]').waitFor();
  await page.getByRole('combobox', { name: /^Role/ }).selectOption({ label: 'Any' });
  await page.getByRole('tab', { name: 'All (7)' }).waitFor();
  await checkAccessibility(page, 'Users');

  // Locked: exactly the Locked items; Reset MFA stays visible, disabled, with the reason.
  let { row, menu } = await menuOf(page, 'dave@acme.test');
  assert.deepEqual(await items(menu), ['Unlock Account', 'Send Reset Password Link', 'Reset MFA', 'Disable Access']);
  const resetMfa = menu.getByRole('menuitem', { name: /Reset MFA/ });
  assert.equal(await resetMfa.isDisabled(), true);
  assert.match(await resetMfa.innerText(), /MFA is not set up for this user/);
  await screenshot(page, 'users-menu-locked');
  await page.keyboard.press('Escape');
  await menu.waitFor({ state: 'hidden' });
  ({ row, menu } = await menuOf(page, 'dave@acme.test'));
  await menu.getByRole('menuitem', { name: 'Unlock Account' }).click();
  await page.getByTestId('toast').getByText("Dave Locked's account was unlocked.").waitFor();
  await page.getByRole('tab', { name: 'Locked (0)' }).waitFor();

  // Pending: an access link, shown once with a copy button.
  ({ menu } = await menuOf(page, 'carol@acme.test'));
  assert.deepEqual(await items(menu), ['Resend Invite', 'Generate Access Link', 'Change Role', 'Revoke Invite']);
  await menu.getByRole('menuitem', { name: 'Generate Access Link' }).click();
  const toast = page.getByTestId('toast');
  await toast.getByTestId('copy-value').waitFor();
  assert.match(await toast.getByTestId('copy-value').innerText(), /^http:\/\/acme\.localhost:\d+\/accept-invite#token=/);
  await screenshot(page, 'users-access-link');

  // Active in two workspaces: no temporary password, with the reason.
  ({ menu } = await menuOf(page, 'pat@partner.test'));
  assert.deepEqual(await items(menu), ['Send Reset Password Link', 'Reset MFA', 'Generate Temporary Password', 'Change Role', 'Lock Account', 'Disable Access', 'Impersonate']);
  assert.match(await menu.getByRole('menuitem', { name: /Generate Temporary Password/ }).innerText(), /more than one workspace/);
  await page.keyboard.press('Escape');

  // Lock asks first; Cancel changes nothing, confirming locks and says so.
  ({ menu } = await menuOf(page, 'bob@acme.test'));
  await menu.getByRole('menuitem', { name: 'Lock Account' }).click();
  const dialog = page.getByTestId('confirm-dialog');
  await dialog.getByText("Lock Bob Builder's account?").waitFor();
  await screenshot(page, 'users-lock-dialog');
  await dialog.getByRole('button', { name: 'Lock Account' }).click();
  await page.getByTestId('toast').getByText("Bob Builder's account was locked.").waitFor();
  await page.getByRole('tab', { name: 'Locked (1)' }).click();
  await page.locator('[data-testid="user-row"][data-email="bob@acme.test"]').waitFor();
  assert.equal(await page.getByTestId('user-row').count(), 1);

  // Search, and an SSO workspace's reason.
  await page.getByRole('tab', { name: /^All/ }).click();
  await page.getByLabel('Workspace').selectOption({ label: 'All workspaces' });
  await page.getByLabel('Search', { exact: true }).fill('globex');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.locator('[data-testid="user-row"][data-email="admin@globex.test"]').waitFor();
  ({ menu } = await menuOf(page, 'admin@globex.test'));
  assert.match(await menu.getByRole('menuitem', { name: /Send Reset Password Link/ }).innerText(), /signs in with SSO/);
  await screenshot(page, 'users-sso-reason');

  // Phone width: still readable.
  await page.setViewportSize({ width: 390, height: 800 });
  await screenshot(page, 'users-phone');
  await context.close();
});

test('support cannot change roles; a tenant admin sees only their workspace', async () => {
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(env.latchkey.url('admin', '/sign-in'));
  await signIn(page, 'support@demo-msp.test');
  await page.getByTestId('home').waitFor();
  await page.goto(env.latchkey.url('admin', '/users'));
  await page.getByTestId('user-table').waitFor();
  const { menu } = await menuOf(page, 'erin@acme.test');
  assert.deepEqual(await items(menu), ['Reset Cooldown', 'Reset MFA', 'Lock Account', 'Disable Access']);
  await page.keyboard.press('Escape');
  await menu.waitFor({ state: 'hidden' });
  const disabled = await menuOf(page, 'frank@acme.test');
  assert.deepEqual(await items(disabled.menu), ['Enable Access']);
  await page.keyboard.press('Escape');
  await disabled.menu.waitFor({ state: 'hidden' });
  const again = await menuOf(page, 'pat@partner.test');
  await again.menu.getByRole('menuitem', { name: 'Change Role' }).click();
  await page.getByTestId('change-role').getByLabel(/New role/).selectOption({ label: 'Administrator' });
  await page.getByTestId('change-role').getByRole('button', { name: 'Change Role' }).click();
  await page.getByTestId('error').waitFor();
  assert.match(await page.getByTestId('error').innerText(), /does not allow this/);
  await screenshot(page, 'users-support-change-role-refused');
  await context.close();

  const tenant = await env.browser.newContext({ viewport: { width: 1280, height: 800 } });
  const own = await tenant.newPage();
  await own.goto(env.latchkey.url('acme', '/sign-in'));
  await signIn(own, 'owner@acme.test');
  await own.getByTestId('home').waitFor();
  await own.goto(env.latchkey.url('acme', '/users'));
  await own.getByTestId('user-table').waitFor();
  const slugs = await own.locator('[data-testid="user-row"] td:nth-child(4)').allInnerTexts();
  assert.ok(slugs.length === 7 && slugs.every((s) => s === 'acme'), slugs.join(','));
  await screenshot(own, 'users-tenant-admin');
  await checkAccessibility(own, 'Users on a tenant host');

  // pat belongs to globex too: what reaches the whole person is disabled, with a reason that
  // names no other workspace; the workspace-level items stay.
  const shared = await menuOf(own, 'pat@partner.test');
  for (const name of ['Send Reset Password Link', 'Reset MFA', 'Generate Temporary Password']) {
    const item = shared.menu.getByRole('menuitem', { name: new RegExp(name) });
    assert.equal(await item.isDisabled(), true, name);
    const text = await item.innerText();
    assert.match(text, /also used outside this workspace/, name);
    assert.doesNotMatch(text, /Globex|globex/, name);
  }
  assert.equal(await shared.menu.getByRole('menuitem', { name: 'Lock Account', exact: true }).isDisabled(), false);
  await screenshot(own, 'users-tenant-admin-shared-person');
  await own.keyboard.press('Escape');
  await tenant.close();
});

test('disable access: asked first, the person then reads "This account is disabled", enabled again from Edit User', async () => {
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(env.latchkey.url('admin', '/sign-in'));
  await signIn(page, 'admin@demo-msp.test');
  await page.getByTestId('home').waitFor();
  await page.goto(env.latchkey.url('admin', '/users'));
  await page.getByTestId('user-table').waitFor();
  let { menu } = await menuOf(page, 'owner@acme.test');
  await menu.getByRole('menuitem', { name: 'Disable Access', exact: true }).click();
  const dialog = page.getByTestId('confirm-dialog').filter({ hasText: "Disable Alice Owner's access?" });
  await dialog.waitFor();
  await screenshot(page, 'users-disable-dialog');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'hidden' });
  ({ menu } = await menuOf(page, 'owner@acme.test'));
  await menu.getByRole('menuitem', { name: 'Disable Access', exact: true }).click();
  await dialog.getByRole('button', { name: 'Disable Access' }).click();
  await page.getByTestId('toast').getByText('Access was disabled for Alice Owner.').waitFor();

  const person = await env.browser.newContext({ viewport: { width: 1280, height: 800 } });
  const own = await person.newPage();
  await own.goto(env.latchkey.url('acme', '/sign-in'));
  await signIn(own, 'alice');
  await own.getByTestId('error').waitFor();
  assert.match(await own.getByTestId('error').innerText(), /This account is disabled/);
  await screenshot(own, 'acme-disabled');
  await checkAccessibility(own, 'Sign-in refused: disabled');

  const row = page.locator('[data-testid="user-row"][data-email="owner@acme.test"]').first();
  await row.getByRole('link').first().click();
  const status = page.getByTestId('status-block').first();
  await status.getByRole('button', { name: 'Enable Access' }).click();
  await page.getByTestId('toast').getByText('Access was enabled for Alice Owner.').waitFor();
  await screenshot(page, 'edit-user-access-enabled');
  await own.goto(env.latchkey.url('acme', '/sign-in'));
  await signIn(own, 'alice');
  await own.getByTestId('home').waitFor();
  await person.close();
  await context.close();
});
