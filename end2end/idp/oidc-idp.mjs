// A test OpenID provider on loopback, built on the certified `oidc-provider` package, for the
// SSO integration and end-to-end tests. Prints `IDP_READY <issuer>` once listening and exits
// when its stdin closes (the test process that started it has ended).
//
// - Dynamic client registration at /reg (open), authorization code flow with PKCE.
// - Its sign-in page asks only for an email; the account's claims are derived from it
//   (`email_verified` is false for addresses starting with "unverified"). Consent is implied.
// - POST /__test/mode {"clientId", "mode"} makes the ID tokens issued to that client
//   `wrong_audience`, `expired` or `bad_signature` (or `normal` again), for the negative tests.
import crypto from 'node:crypto';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

// ES modules ignore NODE_PATH, so the packages are loaded from the folder it names.
const modules = (process.env.NODE_PATH || '').split(path.delimiter).find(Boolean)
  || path.join(os.homedir(), '.cache/latchkey/node/node_modules');
const load = (file) => import(pathToFileURL(path.join(modules, file)).href);
const { default: Provider } = await load('oidc-provider/lib/index.js');
const jose = await load('jose/dist/webapi/index.js');

const KID = 'latchkey-test-key';
async function signingKey() {
  const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
  return { ...(await jose.exportJWK(privateKey)), kid: KID, alg: 'RS256', use: 'sig' };
}
const realKey = await signingKey();
const strangerKey = await signingKey();

// Accounts are made up from the email typed on the sign-in page.
const emails = new Map();
const subjectOf = (email) => `user-${crypto.createHash('sha256').update(email).digest('hex').slice(0, 16)}`;

const modes = new Map();

async function readBody(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return body;
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function signInPage(uid, clientId) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Test identity provider</title>
<style>body{font-family:sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem}label,input,button{display:block;margin:.5rem 0}input{width:100%;padding:.4rem}</style>
</head><body><main><h1>Test identity provider</h1><p>Sign in to continue to ${escapeHtml(clientId)}.</p>
<form method="post" action="/interaction/${escapeHtml(uid)}/login">
<label>Email <input name="email" type="email" autocomplete="username" required autofocus></label>
<button type="submit">Sign in</button></form>
<form method="post" action="/interaction/${escapeHtml(uid)}/abort"><button type="submit">Cancel</button></form>
</main></body></html>`;
}

async function tamper(idToken, mode) {
  const claims = jose.decodeJwt(idToken);
  let key = realKey;
  if (mode === 'wrong_audience') claims.aud = 'someone-else';
  if (mode === 'expired') {
    const now = Math.floor(Date.now() / 1000);
    claims.iat = now - 7200;
    claims.exp = now - 3600;
  }
  if (mode === 'bad_signature') key = strangerKey;
  return new jose.SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: KID, typ: 'JWT' })
    .sign(await jose.importJWK(key, 'RS256'));
}

let handle = (req, res) => { res.statusCode = 503; res.end(); };
const server = http.createServer((req, res) => handle(req, res));
await new Promise((resolve) => server.listen(Number(process.env.IDP_PORT || 0), '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  jwks: { keys: [realKey] },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  features: {
    devInteractions: { enabled: false },
    registration: { enabled: true },
  },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  // The claims of the requested scopes go into the ID token itself.
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, sub) {
    const email = emails.get(sub);
    if (!email) return undefined;
    return {
      accountId: sub,
      async claims() {
        return { sub, email, email_verified: !email.startsWith('unverified'), name: email.split('@')[0] };
      },
    };
  },
  // Every client here is first-party: consent is implied.
  async loadExistingGrant(ctx) {
    const { client, session } = ctx.oidc;
    const existing = session.grantIdFor(client.clientId);
    if (existing) return ctx.oidc.provider.Grant.find(existing);
    const grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    session.grantIdFor(client.clientId, grant.jti);
    return grant;
  },
  renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = `<!doctype html><title>Test identity provider</title><h1>Error</h1><pre>${escapeHtml(JSON.stringify(out))}</pre>`;
  },
});

provider.use(async (ctx, next) => {
  if (ctx.path === '/__test/mode' && ctx.method === 'POST') {
    const { clientId, mode } = JSON.parse(await readBody(ctx.req));
    if (!['normal', 'wrong_audience', 'expired', 'bad_signature'].includes(mode)) ctx.throw(400, 'unknown mode');
    modes.set(clientId, mode);
    ctx.status = 204;
    return;
  }
  const interaction = ctx.path.match(/^\/interaction\/([^/]+)(?:\/(login|abort))?$/);
  if (interaction) {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const [, uid, action] = interaction;
    if (!action && ctx.method === 'GET') {
      ctx.type = 'html';
      ctx.body = signInPage(uid, details.params.client_id);
      return;
    }
    if (ctx.method !== 'POST') ctx.throw(405);
    let result;
    if (action === 'login') {
      const email = new URLSearchParams(await readBody(ctx.req)).get('email')?.trim().toLowerCase();
      if (!email) ctx.throw(400, 'email required');
      const sub = subjectOf(email);
      emails.set(sub, email);
      result = { login: { accountId: sub } };
    } else {
      result = { error: 'access_denied', error_description: 'The user cancelled the sign-in.' };
    }
    const to = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
    ctx.status = 303;
    ctx.redirect(to);
    return;
  }
  await next();
  if (ctx.path === '/token' && ctx.status === 200 && ctx.body && ctx.body.id_token) {
    const audience = jose.decodeJwt(ctx.body.id_token).aud;
    const mode = modes.get(Array.isArray(audience) ? audience[0] : audience) || 'normal';
    if (mode !== 'normal') ctx.body = { ...ctx.body, id_token: await tamper(ctx.body.id_token, mode) };
  }
});

handle = provider.callback();
// Whoever started us may stop reading after the ready line.
process.stdout.on('error', () => {});
process.stdout.write(`IDP_READY ${issuer}\n`);

const stop = () => { server.close(); process.exit(0); };
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
