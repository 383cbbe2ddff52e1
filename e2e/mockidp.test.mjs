// An end-to-end suite in Node, not Go: the proof that cmd/mockidp serves
// any team's test suite, and the recipe for one. It builds and starts the
// mock IdP and the app as two processes, drives Debian's Chromium with
// playwright-core (no browser download), and steers the mock through its
// /_mock/ control plane with plain fetch calls.
//
//   cd e2e && npm ci && npm test      (CHROMIUM=/path/to/chromium to override)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const repo = new URL('..', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'mockidp-e2e-'));
const webhookSecret = 'whsec_' + Buffer.from('e2e-webhook-secret-of-32-bytes!!').toString('base64');
const procs = [];
let mock, app, browser, context, page;
let hint = ''; // the email the next sign-in uses

// freePort asks the kernel for a free loopback port.
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

// startProcess runs a binary and resolves with the first stdout line
// matching re; its output is kept for the report of a failure.
function startProcess(bin, args, env, re) {
  const p = spawn(bin, args, { env: { ...process.env, ...env }, cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(p);
  p.log = [];
  p.stderr.on('data', (d) => p.log.push(d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${bin} did not start:\n${p.log.join('')}`)), 30000);
    p.on('exit', (code) => reject(new Error(`${bin} exited ${code}:\n${p.log.join('')}`)));
    createInterface({ input: p.stdout }).on('line', (line) => {
      const m = line.match(re);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
  });
}

// control calls the mock's control plane and returns the parsed answer.
async function control(method, path, body) {
  const resp = await fetch(`${mock}/_mock${path}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await resp.text();
  assert.ok(resp.ok, `${method} /_mock${path}: ${resp.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

// signIn signs email in through the app's real /login redirect; the route
// set up in before adds login_hint to the authorization request, so the
// mock signs the user in without a page.
async function signIn(email) {
  hint = email;
  return page.goto(`${app}/login`);
}

async function createProject(name) {
  await page.goto(`${app}/projects`);
  await page.fill('[data-testid=new-project] input[name=name]', name);
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.url() === `${app}/projects` && r.request().method() === 'POST'),
    page.click('[data-testid=new-project] button[type=submit]'),
  ]);
  await page.waitForLoadState();
  return resp.status();
}

before(async () => {
  for (const cmd of ['mockidp', 'server']) {
    execFileSync('go', ['build', '-o', join(tmp, cmd), `./cmd/${cmd}`], { cwd: repo, stdio: 'inherit' });
  }
  const appPort = await freePort();
  app = `http://127.0.0.1:${appPort}`;
  // The mock's demo client registers http://127.0.0.1:8080/auth/callback;
  // on a loopback host any port matches (RFC 8252), so the app may use a
  // random one. Webhooks go to the app, signed with its secret.
  mock = await startProcess(join(tmp, 'mockidp'), ['-addr', '127.0.0.1:0', '-log-level', 'warn'], {
    MOCKIDP_WEBHOOK_URL: `${app}/webhooks/scalekit`,
    MOCKIDP_WEBHOOK_SECRET: webhookSecret,
  }, /^MOCKIDP_URL=(\S+)/);
  await startProcess(join(tmp, 'server'), [], {
    SCALEKIT_ENVIRONMENT_URL: mock,
    SCALEKIT_CLIENT_ID: 'skc_demo_client',
    SCALEKIT_CLIENT_SECRET: 'demo-secret-not-for-production',
    SCALEKIT_WEBHOOK_SECRET: webhookSecret,
    SESSION_SECRET: 'e2e-session-secret-0123456789abcdef',
    DATABASE_PATH: join(tmp, 'app.db'),
    ADDR: `127.0.0.1:${appPort}`,
    APP_BASE_URL: app,
  }, /running at (\S+)/);

  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  context = await browser.newContext();
  // Playwright does not route the hops of a redirect, so the hint goes into
  // the app's own redirect: fetch /login without following it, add
  // login_hint to the Location it names, and hand the answer (cookies
  // included) to the browser.
  await context.route((url) => url.href.startsWith(`${app}/login`), async (route) => {
    const resp = await route.fetch({ maxRedirects: 0 });
    const location = resp.headers().location;
    if (!location || !hint) return route.fulfill({ response: resp });
    const url = new URL(location);
    url.searchParams.set('login_hint', hint);
    return route.fulfill({ response: resp, headers: { ...resp.headers(), location: url.href } });
  });
  page = await context.newPage();
});

after(async () => {
  await browser?.close();
  for (const p of procs) p.kill('SIGTERM');
  rmSync(tmp, { recursive: true, force: true });
});

test('headless sign-in with login_hint, then a project', async () => {
  await signIn('bob@acme.example');
  assert.ok(page.url().startsWith(app), `landed on ${page.url()}`);
  await page.goto(`${app}/me`);
  assert.match(await page.content(), /bob@acme\.example/);
  assert.equal(await createProject('Made by Bob'), 303);
  assert.match(await page.content(), /Made by Bob/);
});

// eventually retries fn every 500 ms for up to ms until it returns true.
async function eventually(ms, fn) {
  for (const end = Date.now() + ms; ; await new Promise((r) => setTimeout(r, 500))) {
    if (await fn()) return true;
    if (Date.now() > end) return false;
  }
}

test('a demotion through /_mock/ refuses the next request', async () => {
  // An admin's role change, as in Scalekit's dashboard: the mock sends the
  // signed user.organization_membership_updated webhook to the app before
  // answering, and the app makes Bob's older tokens stale at once (his
  // access token would otherwise live 5 minutes).
  const bob = await control('PUT', '/users/usr_100000000000000002/roles', { roles: ['viewer'] });
  assert.deepEqual(bob.roles, ['viewer']);
  assert.ok(bob.webhooks.every((d) => d.done && d.status === 200), JSON.stringify(bob.webhooks));
  // A viewer's page hides the form, so post it as the browser would: with
  // Bob's session cookie, from the app's own origin.
  const post = () => page.request.post(`${app}/projects`, { form: { name: 'Bob tries again' }, maxRedirects: 0 });
  assert.equal((await post()).status(), 403, 'Bob, now a viewer, is refused on his very next request');
});

test('a token endpoint 500 shows the app\'s explanation', async () => {
  await page.click('form[action="/logout"] button');
  await control('POST', '/faults', { endpoint: 'token:authorization_code', status: 500, count: 1 });
  const resp = await signIn('alice@acme.example');
  assert.ok(resp.status() >= 400, `status ${resp.status()}`);
  const text = await page.textContent('body');
  assert.match(text, /Sign-in failed/);
  assert.match(text, /identity provider/i);
  const log = await control('GET', '/requests?endpoint=token:authorization_code');
  const last = log.requests.at(-1);
  assert.equal(last.fault, true);
  // The app authenticated (client_secret_post or _basic); the log shows
  // that a secret was sent, never its value.
  const sent = last.form.client_secret?.[0] ?? last.headers.Authorization;
  assert.match(sent, /^(Basic )?\[redacted\]$/);
});

test('a key rotation keeps the app working', async () => {
  const before = await control('GET', '/keys');
  const rotated = await control('POST', '/keys/rotate');
  assert.notEqual(rotated.current, before.current);
  // Tokens are signed by the new key at once; the app fetches the JWKS
  // again for an unknown kid, but at most every 10 s, so a sign-in may
  // fail until then (a real provider publishes a key before it signs).
  let resp;
  assert.ok(await eventually(15000, async () => (resp = await signIn('alice@acme.example')).ok()),
    `status ${resp?.status()} at ${page.url()}: ${await page.textContent('main')}`);
  assert.equal(await createProject('After the rotation'), 303);
  assert.match(await page.content(), /After the rotation/);
});
