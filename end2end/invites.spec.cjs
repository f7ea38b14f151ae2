const { test } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { useLatchkey, screenshot, signIn, checkAccessibility, DEMO_PASSWORD } = require('./harness.cjs');

const env = useLatchkey();

function linkIn(mail) {
  const text = mail.replace(/=\r?\n/g, '').replace(/=3D/g, '=');
  return text.match(/https?:\/\/[^\s"<>]+#token=[A-Za-z0-9_-]+/)[0];
}

async function newPage(height = 900) {
  const context = await env.browser.newContext({ viewport: { width: 1200, height } });
  return { context, page: await context.newPage() };
}

test('an invitee opens the emailed link on acme, chooses a password and signs in', async () => {
  const owner = env.latchkey.cli(['token', 'create', '--email', 'owner@acme.test', '--tenant', 'acme']);
  const invited = await env.latchkey.api('POST', '/users', owner, { email: 'nina@acme.test', displayName: 'Nina New' });
  assert.equal(invited.status, 201, JSON.stringify(invited.body));
  const link = linkIn(await env.latchkey.nextMail('nina@acme.test'));
  assert.ok(link.startsWith(env.latchkey.url('acme', '/accept-invite#token=')));

  const { context, page } = await newPage();
  await page.goto(link);
  await page.getByRole('heading', { name: 'Join Acme Corp' }).waitFor();
  assert.equal(new URL(page.url()).hash, '', 'the token leaves the address bar');
  assert.equal(await page.getByLabel('Email').inputValue(), 'nina@acme.test');
  await page.getByLabel('Choose a password').fill('nina2026');
  await page.getByLabel('Type it again').fill('nina2026');
  await page.getByRole('button', { name: 'Accept invite and set password' }).click();
  await page.getByTestId('error').waitFor();
  assert.match(await page.getByTestId('error').innerText(), /at least 12 characters/);
  await page.getByLabel('Choose a password').fill('saffron comet ledger 64');
  await page.getByLabel('Type it again').fill('saffron comet ledger 64');
  await page.getByText(/^(Good|Strong)/).waitFor();
  await page.waitForTimeout(400);
  await screenshot(page, 'invite-accept');
  await page.getByRole('button', { name: 'Accept invite and set password' }).click();
  await page.getByText('Your account is ready. Sign in with your new password.').waitFor();
  await screenshot(page, 'invite-accepted-sign-in');
  await signIn(page, 'nina@acme.test', 'saffron comet ledger 64');
  await page.getByTestId('home').waitFor();

  // The same link again: a clear message.
  await page.goto(link);
  await page.getByTestId('error').waitFor();
  assert.match(await page.getByTestId('error').innerText(), /expired or was already used/);
  await screenshot(page, 'invite-link-used');
  await context.close();
});

test('an access link copied by support works once, on its own host only', async () => {
  const support = env.latchkey.cli(['token', 'create', '--email', 'support@demo-msp.test']);
  const me = await env.latchkey.api('GET', '/users/me', env.latchkey.cli(['token', 'create', '--email', 'owner@acme.test', '--tenant', 'acme']));
  assert.equal(me.status, 200);
  const invited = await env.latchkey.api('POST', '/users', env.latchkey.cli(['token', 'create', '--email', 'owner@acme.test', '--tenant', 'acme']),
    { email: 'omar@acme.test', displayName: 'Omar Access' });
  const access = await env.latchkey.api('POST', `/users/${invited.body.userId}/access-link`, support);
  assert.equal(access.status, 201, JSON.stringify(access.body));
  const { context, page } = await newPage();
  // On another tenant's host the link is worth nothing.
  await page.goto(access.body.url.replace('//acme.', '//globex.'));
  await page.getByTestId('error').waitFor();
  assert.match(await page.getByTestId('error').innerText(), /expired or was already used/);
  await page.goto(access.body.url);
  await page.getByRole('heading', { name: 'Join Acme Corp' }).waitFor();
  await context.close();
});

test('a temporary password signs in once and must be replaced before anything else', async () => {
  const admin = env.latchkey.cli(['token', 'create', '--email', 'admin@demo-msp.test']);
  const bob = (await env.latchkey.api('GET', '/users/me', env.latchkey.cli(['token', 'create', '--email', 'bob@acme.test', '--tenant', 'acme']))).body;
  const generated = await env.latchkey.api('POST', `/users/${bob.id}/temporary-password`, admin);
  assert.equal(generated.status, 201, JSON.stringify(generated.body));
  const temporary = generated.body.temporaryPassword;
  assert.equal(temporary.length, 16);

  const { context, page } = await newPage();
  await page.goto(env.latchkey.url('acme', '/sign-in'));
  await signIn(page, 'bob', temporary);
  await page.getByTestId('replace-temporary-password').waitFor();
  await page.goto(env.latchkey.url('acme', '/account'));
  await page.getByTestId('replace-temporary-password').waitFor();
  assert.equal(await page.getByTestId('account').count(), 0, 'My account stays closed');
  await page.getByLabel('New password', { exact: true }).fill(temporary);
  await page.getByLabel('Type it again').fill(temporary);
  await page.getByRole('button', { name: 'Save password' }).click();
  await page.getByTestId('error').waitFor();
  assert.match(await page.getByTestId('error').innerText(), /not the temporary one/);
  await page.getByLabel('New password', { exact: true }).fill('orchid tundra beacon 12');
  await page.getByLabel('Type it again').fill('orchid tundra beacon 12');
  await page.getByTestId('replace-temporary-password').getByText(/^(Good|Strong)/).waitFor();
  await page.waitForTimeout(400);
  await screenshot(page, 'temporary-password-replace');
  await page.getByRole('button', { name: 'Save password' }).click();
  await page.getByText('Your password was changed. Sign in with your new password.').waitFor();
  await signIn(page, 'bob', 'orchid tundra beacon 12');
  await page.getByTestId('home').waitFor();
  await context.close();
});

test('Settings > Outbox lists the mail with its status; with a mail server the bodies stay sealed', async () => {
  const { context, page } = await newPage(1000);
  await page.goto(env.latchkey.url('admin', '/sign-in'));
  await signIn(page, 'admin@demo-msp.test');
  await page.getByTestId('home').waitFor();
  await page.getByRole('link', { name: 'Settings › Outbox' }).click();
  await page.getByTestId('outbox-table').waitFor();
  assert.match(await page.getByTestId('delivery').innerText(), /delivered by SMTP/);
  const rows = page.getByTestId('outbox-row');
  assert.ok(await rows.count() >= 3, 'invites and notices are listed');
  assert.match(await page.getByTestId('delivery').innerText(), /Bodies stay sealed/);
  await page.getByTestId('outbox-row').filter({ hasText: 'nina@acme.test' }).getByText('sent').first().waitFor();
  assert.equal(await page.getByRole('button', { name: 'Open' }).count(), 0, 'no body can be opened');
  await screenshot(page, 'outbox');
  await checkAccessibility(page, 'Outbox');
  await page.getByRole('tab', { name: /Failed/ }).click();
  await page.getByTestId('empty').waitFor();
  await context.close();
});

// RFC 6238 TOTP (SHA-1, 6 digits, 30 s) for a base32 secret.
function totp(base32, at = Date.now()) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of base32.replace(/=+$/, '')) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 30000)));
  const mac = crypto.createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1] & 15;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1000000).padStart(6, '0');
}

test('a person who already has an account proves it, password and code, to join one more workspace', async () => {
  // Ivy (Initech) sets up an authenticator first, in her browser.
  const { context, page } = await newPage(1000);
  await page.goto(env.latchkey.url('initech', '/sign-in'));
  await signIn(page, 'ivy');
  await page.getByTestId('mfa-enroll').waitFor();
  await page.getByLabel(/Your password/).fill(DEMO_PASSWORD);
  await page.getByRole('button', { name: 'Set up authenticator app' }).click();
  const secret = await page.getByTestId('totp-secret').innerText();
  await page.getByLabel('Code from the app').fill(totp(secret));
  await page.getByRole('button', { name: 'Confirm' }).click();
  await page.getByTestId('recovery-codes').waitFor();

  // Acme's admin invites her: the answer is the one any new address gets.
  const owner = env.latchkey.cli(['token', 'create', '--email', 'owner@acme.test', '--tenant', 'acme']);
  const invited = await env.latchkey.api('POST', '/users', owner, { email: 'ivy@initech.test', displayName: 'Ivy' });
  assert.equal(invited.status, 201, JSON.stringify(invited.body));
  assert.equal(invited.body.status, 'pending');
  assert.equal(invited.body.existingUser, undefined);
  const link = linkIn(await env.latchkey.mailWith('ivy@initech.test', 'invited to Acme Corp'));
  await page.goto(link);
  await page.getByRole('heading', { name: 'Join Acme Corp' }).waitFor();
  await page.getByTestId('invite-code').waitFor();
  await page.getByLabel('Your password').fill(DEMO_PASSWORD);
  await page.getByTestId('invite-code').fill('000000' === totp(secret) ? '111111' : '000000');
  await page.getByRole('button', { name: 'Accept invite' }).click();
  await page.getByTestId('error').waitFor();
  await screenshot(page, 'invite-existing-account');
  await checkAccessibility(page, 'Accept invite with an existing account');
  await page.getByTestId('invite-code').fill(totp(secret, Date.now() + 30000));
  await page.getByRole('button', { name: 'Accept invite' }).click();
  await page.getByRole('heading', { name: 'Sign in to Acme Corp' }).waitFor();
  await signIn(page, 'ivy@initech.test');
  await page.getByTestId('mfa-verify').waitFor();
  await context.close();
});
