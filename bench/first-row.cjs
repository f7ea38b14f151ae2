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

// Runs in every page before its scripts: notes when the first user row enters the DOM, in ms
// since the navigation started. Timed in the page because Playwright's waitFor polls at
// intervals that grow to 500 ms, which added up to half a second to what it saw.
function markFirstRow() {
  new MutationObserver((_, observer) => {
    if (document.querySelector('[data-testid="user-row"]')) {
      window.firstUserRowAt = performance.now();
      observer.disconnect();
    }
  }).observe(document, { childList: true, subtree: true });
}

// The first row's time, and from the browser's resource timing, when the last of the app's
// files and the list_users answer arrived, on the same clock.
function readTimeline() {
  const entries = performance.getEntriesByType('resource');
  const ends = (test) => entries.filter((e) => test(new URL(e.name).pathname)).map((e) => e.responseEnd);
  const round = (ms) => Math.round(ms);
  return {
    firstRow: round(window.firstUserRowAt),
    filesDone: round(Math.max(0, ...ends((p) => /\.(wasm|js|css)$/.test(p)))),
    listAnswered: round(Math.min(...ends((p) => p.startsWith('/api/list_users')))),
  };
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
    const coldSeen = [];
    const filesDone = [];
    const listAnswered = [];
    for (let i = 0; i < RUNS; i += 1) {
      const context = await browser.newContext({ storageState: state });
      await context.addInitScript(markFirstRow);
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
      coldSeen.push(Date.now() - started);
      const timeline = await page.evaluate(readTimeline);
      cold.push(timeline.firstRow);
      filesDone.push(timeline.filesDone);
      listAnswered.push(timeline.listAnswered);
      if (i === 0) wire = await Promise.all(sent);
      await page.goto(url('/users'), { waitUntil: 'commit' });
      await page.locator('[data-testid="user-row"]').first().waitFor();
      warm.push((await page.evaluate(readTimeline)).firstRow);
      await context.close();
    }
    await browser.close();
    console.log(`first user row, new browser context: median ${median(cold)} ms (${cold.join(', ')})`);
    console.log(`first user row, files cached:        median ${median(warm)} ms (${warm.join(', ')})`);
    console.log(`new context: the app's last file arrived at median ${median(filesDone)} ms, list_users answered at ${median(listAnswered)} ms; Playwright saw the row at ${median(coldSeen)} ms (its polling backs off up to 500 ms)`);
    const wireBytes = wire.reduce((sum, [, bytes]) => sum + bytes, 0);
    for (const [name, bytes] of wire) console.log(`sent on the first load: ${name} ${(bytes / 1024).toFixed(1)} KB`);
    console.log(`sent on the first load, WASM + JS + CSS: ${(wireBytes / 1024).toFixed(1)} KB`);
    console.log(JSON.stringify({
      first_row_cold_ms: median(cold), first_row_warm_ms: median(warm), cold, warm,
      cold_files_done_ms: filesDone, cold_list_answered_ms: listAnswered, cold_seen_by_playwright_ms: coldSeen,
      first_load_wire_bytes: wireBytes, first_load_files: Object.fromEntries(wire),
    }));
  } finally {
    server.kill('SIGTERM');
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
