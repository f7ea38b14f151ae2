// Time from navigation to the first user row on the admin Users page, in headless Chromium
// (playwright-core), against a database `latchkey-bench seed` filled.
//
// Usage: node bench/first-row.cjs BINARY SITE_DIR DATABASE_URL
// Prints one line per case and a JSON line.
const { spawn } = require('node:child_process');
const { startBrowser, signIn } = require('../end2end/harness.cjs');

const [binary, site, databaseUrl] = process.argv.slice(2);
const RUNS = 7;

async function freePort() {
  const net = require('node:net');
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

(async () => {
  const port = await freePort();
  const env = {
    ...process.env,
    LATCHKEY_DATABASE_URL: databaseUrl,
    LATCHKEY_BASE_DOMAIN: `localhost:${port}`,
    LATCHKEY_LISTEN: `127.0.0.1:${port}`,
    LATCHKEY_SITE_DIR: site,
    RUST_LOG: 'error',
  };
  const server = spawn(binary, ['serve'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    for (let i = 0; ; i += 1) {
      try {
        if ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok) break;
      } catch (_) { /* not up yet */ }
      if (i > 200) throw new Error('the server did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    const browser = await startBrowser();
    const url = (p) => `http://admin.localhost:${port}${p}`;
    const signedIn = await browser.newContext();
    const first = await signedIn.newPage();
    await first.goto(url('/sign-in'));
    await signIn(first, 'admin@demo-msp.test');
    await first.getByTestId('home').waitFor();
    const state = await signedIn.storageState();

    // Cold: a new browser context each time, so the app's WASM, JS and CSS come over the wire.
    // Warm: the same tab navigates again, with the files in the HTTP cache.
    let wire = [];
    const cold = [];
    const warm = [];
    for (let i = 0; i < RUNS; i += 1) {
      const context = await browser.newContext({ storageState: state });
      const page = await context.newPage();
      // What the app's files cost on the wire (compressed as sent), on the first run.
      const sent = [];
      if (i === 0) {
        page.on('requestfinished', (request) => {
          const name = new URL(request.url()).pathname;
          if (/\.(wasm|js|css)$/.test(name)) sent.push(request.sizes().then((s) => [name, s.responseBodySize]));
        });
      }
      let started = Date.now();
      await page.goto(url('/users'), { waitUntil: 'commit' });
      await page.locator('[data-testid="user-row"]').first().waitFor();
      cold.push(Date.now() - started);
      if (i === 0) wire = await Promise.all(sent);
      started = Date.now();
      await page.goto(url('/users'), { waitUntil: 'commit' });
      await page.locator('[data-testid="user-row"]').first().waitFor();
      warm.push(Date.now() - started);
      await context.close();
    }
    await browser.close();
    console.log(`first user row, new browser context: median ${median(cold)} ms (${cold.join(', ')})`);
    console.log(`first user row, files cached:        median ${median(warm)} ms (${warm.join(', ')})`);
    const wireBytes = wire.reduce((sum, [, bytes]) => sum + bytes, 0);
    for (const [name, bytes] of wire) console.log(`sent on the first load: ${name} ${(bytes / 1024).toFixed(1)} KB`);
    console.log(`sent on the first load, WASM + JS + CSS: ${(wireBytes / 1024).toFixed(1)} KB`);
    console.log(JSON.stringify({
      first_row_cold_ms: median(cold), first_row_warm_ms: median(warm), cold, warm,
      first_load_wire_bytes: wireBytes, first_load_files: Object.fromEntries(wire),
    }));
  } finally {
    server.kill('SIGTERM');
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
