const { test } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { useLatchkey, screenshot, signIn, DEMO_PASSWORD } = require('./harness.cjs');

const env = useLatchkey();

function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of text.replace(/=+$/, '')) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

// RFC 6238 TOTP, SHA-1, 6 digits, 30 s steps: what an authenticator app shows at time `ms`.
function totp(secret, ms = Date.now()) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(ms / 30000)));
  const h = crypto.createHmac('sha1', secret).update(counter).digest();
  const o = h[h.length - 1] & 0xf;
  const value = (((h[o] & 0x7f) << 24) | (h[o + 1] << 16) | (h[o + 2] << 8) | h[o + 3]) % 1000000;
  return String(value).padStart(6, '0');
}

async function signOut(page) {
  await page.getByTestId('sign-out').click();
  await page.getByTestId('sign-in').waitFor();
}

test('Initech enforces MFA: set up an authenticator, sign in with codes and a recovery code, then hit the cooldown', async () => {
  const context = await env.browser.newContext({ viewport: { width: 1200, height: 1000 } });
  const page = await context.newPage();
  await page.goto(env.latchkey.url('initech', '/sign-in'));
  await signIn(page, 'ivy');
  await page.getByTestId('mfa-enroll').waitFor();
  await page.goto(env.latchkey.url('initech', '/account'));
  await page.getByTestId('mfa-enroll').waitFor();
  assert.equal(await page.getByTestId('account').count(), 0, 'nothing else until MFA is set up');

  await page.getByLabel(/Your password/).fill(DEMO_PASSWORD);
  await page.getByRole('button', { name: 'Set up authenticator app' }).click();
  await page.getByTestId('totp-qr').waitFor();
  assert.ok(await page.getByTestId('totp-qr').evaluate((img) => img.complete && img.naturalWidth > 0), 'the QR code is an image');
  const secret = base32Decode(await page.getByTestId('totp-secret').innerText());
  assert.match(await page.getByTestId('setup-authenticator').innerText(), /Initech \(initech\.localhost\) · ivy@initech\.test/);
  await screenshot(page, 'mfa-1-set-up');
  await page.getByLabel('Code from the app').fill('000000' === totp(secret) ? '111111' : '000000');
  await page.getByRole('button', { name: 'Confirm' }).click();
  await page.getByTestId('error').waitFor();
  await page.getByLabel('Code from the app').fill(totp(secret));
  await page.getByRole('button', { name: 'Confirm' }).click();
  await page.getByTestId('recovery-codes').waitFor();
  const codes = (await page.getByTestId('recovery-codes').locator('code').allInnerTexts());
  assert.equal(codes.length, 10);
  assert.ok(codes.every((c) => /^[A-Z2-9]{4}-[A-Z2-9]{4}$/.test(c)));
  assert.match(await page.getByRole('link', { name: 'Download' }).getAttribute('href'), /^data:text\/plain/);
  await screenshot(page, 'mfa-2-recovery-codes');
  await page.getByRole('button', { name: 'I saved my codes' }).click();
  // Back to the page that was asked for (My account), now open.
  await page.getByTestId('account').waitFor();
  await page.getByTestId('factors').waitFor();
  assert.match(await page.getByTestId('codes-left').innerText(), /10 of 10/);
  await screenshot(page, 'mfa-3-my-account');

  // Next sign-in: the code of the next 30 s step (the set-up's own code is used up).
  await signOut(page);
  await signIn(page, 'ivy');
  await page.getByTestId('mfa-verify').waitFor();
  await screenshot(page, 'mfa-4-verify');
  await page.getByLabel('Code').fill(totp(secret, Date.now() + 30000));
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByTestId('home').waitFor();

  // A recovery code stands in for the phone, once.
  await signOut(page);
  await signIn(page, 'ivy');
  await page.getByTestId('mfa-verify').waitFor();
  await page.getByLabel('Code').fill(codes[0]);
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByTestId('home').waitFor();

  // Five wrong codes start the cooldown.
  await signOut(page);
  await signIn(page, 'ivy');
  await page.getByTestId('mfa-verify').waitFor();
  for (let i = 0; i < 5; i++) {
    await page.getByLabel('Code').fill(codes[0]);
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByTestId('error').waitFor();
    await page.waitForTimeout(150);
  }
  await page.getByText(/Too many wrong codes/).waitFor();
  await screenshot(page, 'mfa-5-cooldown');
  await context.close();
});

test('a phone for text messages: add it in My account, sign in with a texted code, report a wrong number', async () => {
  const context = await env.browser.newContext({ viewport: { width: 1200, height: 1100 } });
  const page = await context.newPage();
  await page.goto(env.latchkey.url('acme', '/sign-in'));
  await signIn(page, 'alice');
  await page.getByTestId('home').waitFor();
  await page.goto(env.latchkey.url('acme', '/account'));
  await page.getByLabel(/Your password/).fill(DEMO_PASSWORD);
  await page.getByRole('button', { name: 'Add phone for text messages' }).click();
  await page.getByLabel('Mobile number, with country code').fill('12345');
  await page.getByRole('button', { name: 'Text me a code' }).click();
  await page.getByTestId('error').waitFor();
  assert.match(await page.getByTestId('error').innerText(), /country code/);
  await page.getByLabel('Mobile number, with country code').fill('+1 415 555 0100');
  await page.getByRole('button', { name: 'Text me a code' }).click();
  await page.getByText('We sent a code to ••• 0100.').waitFor();
  await page.getByLabel('Code from the text message').fill(env.latchkey.lastSmsCode());
  await page.getByRole('button', { name: 'Confirm' }).click();
  await page.getByTestId('recovery-codes').waitFor();
  await page.getByRole('button', { name: 'I saved my codes' }).click();
  await page.getByTestId('factors').getByText('Text message to ••• 0100').waitFor();
  await screenshot(page, 'mfa-6-sms-factor');

  await signOut(page);
  await signIn(page, 'alice');
  await page.getByTestId('mfa-verify').waitFor();
  await page.getByRole('button', { name: /Text me a code at ••• 0100/ }).click();
  await page.getByText(/We sent a code to ••• 0100/).waitFor();
  await page.getByRole('button', { name: "It's not my phone number" }).click();
  await page.getByTestId('not-my-number').waitFor();
  assert.match(await page.getByTestId('not-my-number').innerText(), /Ref [0-9A-Z]{4}-[0-9A-Z]{4}/);
  await screenshot(page, 'mfa-7-sms-verify');
  await page.getByLabel('Code').fill(env.latchkey.lastSmsCode());
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByTestId('home').waitFor();
  await context.close();
});
