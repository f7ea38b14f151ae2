// Starts a real Latchkey (the built binary and WASM app) on a random port with fresh demo data,
// and drives Debian's Chromium through playwright-core.
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');

const BIN = process.env.LATCHKEY_BIN;
const SITE = process.env.LATCHKEY_SITE_DIR;
const SCREENSHOTS = path.join(__dirname, 'screenshots');
const DEMO_PASSWORD = 'Latchkey-demo-2026';

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function waitFor(url, ms = 30000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch (_) { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`server did not answer ${url}`);
}

async function startLatchkey() {
  if (!BIN || !SITE) throw new Error('LATCHKEY_BIN and LATCHKEY_SITE_DIR must be set (scripts/test.sh sets them)');
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-e2e-'));
  const env = {
    ...process.env,
    LATCHKEY_DATABASE_URL: `sqlite://${dir}/e2e.db?mode=rwc`,
    LATCHKEY_BASE_DOMAIN: `localhost:${port}`,
    LATCHKEY_LISTEN: `127.0.0.1:${port}`,
    LATCHKEY_SITE_DIR: SITE,
    // The test identity provider runs on this machine.
    LATCHKEY_ALLOW_PRIVATE_HOSTS: '127.0.0.1,localhost',
    RUST_LOG: 'warn',
  };
  // Mail goes to a real SMTP server (aiosmtpd) that files each message in mailDir.
  const smtpPort = await freePort();
  const mailDir = path.join(dir, 'mail');
  const python = process.env.LATCHKEY_TEST_PYTHON || path.join(os.homedir(), '.cache/latchkey/py/bin/python');
  const smtp = spawn(python, [path.join(__dirname, '..', 'scripts', 'smtp_sink.py'), String(smtpPort), mailDir],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    smtp.stdout.once('data', resolve);
    smtp.once('exit', () => reject(new Error('SMTP sink exited')));
  });
  env.LATCHKEY_SMTP_URL = `smtp://127.0.0.1:${smtpPort}`;
  // Text messages go to a Twilio-compatible stand-in that keeps each message body.
  const texts = [];
  const smsServer = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      texts.push(Object.fromEntries(new URLSearchParams(body)));
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end('{"sid":"SM1","status":"queued"}');
    });
  });
  await new Promise((resolve) => smsServer.listen(0, '127.0.0.1', resolve));
  env.LATCHKEY_SMS_URL = `http://127.0.0.1:${smsServer.address().port}/2010-04-01/Accounts/AC1/Messages.json`;
  env.LATCHKEY_SMS_ACCOUNT = 'AC1';
  env.LATCHKEY_SMS_TOKEN = 'e2e-token';
  env.LATCHKEY_SMS_FROM = '+15550000000';
  execFileSync(BIN, ['demo'], { env, stdio: 'ignore' });
  const child = spawn(BIN, ['serve'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  await waitFor(`http://127.0.0.1:${port}/healthz`);
  const url = (label, p = '/') => `http://${label}.localhost:${port}${p}`;
  return {
    port,
    url,
    // Runs a `latchkey` command against this server's database and returns what it printed.
    cli(args) {
      return execFileSync(BIN, args, { env, encoding: 'utf8' }).trim();
    },
    // Calls the REST API with a bearer token.
    async api(method, p, token, body) {
      const res = await fetch(`http://127.0.0.1:${port}/api/v1${p}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: body ? JSON.stringify(body) : undefined,
      });
      return { status: res.status, body: await res.json() };
    },
    // The newest text message's 6-digit code.
    lastSmsCode() {
      const last = texts[texts.length - 1];
      return last && last.Body.match(/\b(\d{6})\b/)[1];
    },
    // Waits for the next message to `to` after `seen` messages, and returns its text.
    async nextMail(to, seen = 0, ms = 20000) {
      const until = Date.now() + ms;
      while (Date.now() < until) {
        const files = fs.existsSync(mailDir) ? fs.readdirSync(mailDir).filter((f) => f.endsWith('.eml')).sort() : [];
        const texts = files.map((f) => fs.readFileSync(path.join(mailDir, f), 'utf8')).filter((t) => t.includes(`To: ${to}`));
        if (texts.length > seen) return texts[texts.length - 1];
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error(`no mail to ${to}`);
    },
    // Waits for a message to `to` whose text contains `needle`, and returns its text.
    async mailWith(to, needle, ms = 20000) {
      const until = Date.now() + ms;
      while (Date.now() < until) {
        const files = fs.existsSync(mailDir) ? fs.readdirSync(mailDir).filter((f) => f.endsWith('.eml')).sort() : [];
        const found = files.map((f) => fs.readFileSync(path.join(mailDir, f), 'utf8'))
          .filter((t) => t.includes(`To: ${to}`) && t.includes(needle));
        if (found.length > 0) return found[found.length - 1];
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error(`no mail to ${to} with ${needle}`);
    },
    async stop() {
      child.kill('SIGTERM');
      smtp.kill('SIGTERM');
      smsServer.close();
      await new Promise((r) => child.once('exit', r));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

// Starts the test OpenID provider (end2end/idp/oidc-idp.mjs, on the certified oidc-provider
// package) on a random loopback port. It exits with this process.
async function startIdp() {
  const child = spawn(process.execPath, [path.join(__dirname, 'idp', 'oidc-idp.mjs')],
    { env: { ...process.env, IDP_PORT: '0' }, stdio: ['pipe', 'pipe', 'inherit'] });
  const issuer = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const match = out.match(/^IDP_READY (\S+)/m);
      if (match) resolve(match[1]);
    });
    child.once('exit', () => reject(new Error(`the test IdP exited: ${out}`)));
  });
  const post = (p, body) => fetch(`${issuer}${p}`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  return {
    issuer,
    // Dynamic client registration for one workspace's callback.
    async register(redirectUri) {
      const res = await post('/reg', {
        redirect_uris: [redirectUri], token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['authorization_code'], response_types: ['code'],
      });
      if (res.status !== 201) throw new Error(`registration failed: ${res.status} ${await res.text()}`);
      return res.json();
    },
    stop() { child.kill('SIGTERM'); },
  };
}

async function startBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}

async function screenshot(page, name) {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

// Runs axe-core on the page and fails on any serious or critical violation, naming each.
async function checkAccessibility(page, name) {
  // Evaluated over the DevTools protocol: the page's Content-Security-Policy (rightly) refuses
  // an injected inline script.
  await page.evaluate(fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8'));
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations'] });
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
  });
  if (violations.length) throw new Error(`accessibility of ${name}:\n${violations.join('\n')}`);
}

async function signIn(page, identifier, password = DEMO_PASSWORD) {
  await page.getByLabel('Email or username').fill(identifier);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

// Starts one server and one browser for a spec file, and stops both after it. The returned
// object's `latchkey` and `browser` are filled in once the `before` hook has run.
function useLatchkey() {
  const { before, after } = require('node:test');
  const env = { latchkey: null, browser: null };
  before(async () => {
    env.latchkey = await startLatchkey();
    env.browser = await startBrowser();
  });
  after(async () => {
    await env.browser?.close();
    await env.latchkey?.stop();
  });
  return env;
}

module.exports = { startLatchkey, startBrowser, startIdp, useLatchkey, screenshot, signIn, checkAccessibility, DEMO_PASSWORD };
