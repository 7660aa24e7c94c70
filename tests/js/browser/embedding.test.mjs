// Parley inside an app: the example backend of docs/embedding.md (examples/embedding/
// backend.mjs, started as it is) signs tokens for its users and sends them to the chat, where
// they talk. The backend is browsed at "localhost" and Parley at "127.0.0.1": two sites, so the
// token link arrives cross-site as it does in production, and the SameSite=Strict cookie must
// still reach the chat.
import assert from 'node:assert/strict';
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {test} from 'node:test';

import {freePort, Program} from '../lib/stack.mjs';
import {launchChromium, lines, say, Stack, waitForLine, waitForStatus} from './harness.mjs';

const BACKEND = path.resolve('../../examples/embedding/backend.mjs');
const SECRET = 'an-app-secret-of-more-than-32-bytes-0123';
const API_KEY = 'the-apps-server-api-key-0123456789';

test('users signed in by the app chat through its tokens', {timeout: 120000}, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'parley-embedding-'));
  const secretFile = path.join(dir, 'jwt-secret');
  writeFileSync(secretFile, SECRET);
  const keysFile = path.join(dir, 'admin-keys');
  writeFileSync(keysFile, `example-app:${API_KEY}\n`);
  const backendPort = await freePort();
  const adminPort = await freePort();
  const appUrl = `http://localhost:${backendPort}`;
  const stack = await Stack.start({frontendFlags: [
    '--auth=tokens', `--jwt_secret_file=${secretFile}`, '--jwt_audience=parley',
    `--login_url=${appUrl}/signin`, `--admin_listen=127.0.0.1:${adminPort}`,
    `--admin_keys_file=${keysFile}`]});
  const backend = new Program('backend', [process.execPath, BACKEND], {env: {
    PARLEY_URL: stack.url, PARLEY_ADMIN_URL: `http://127.0.0.1:${adminPort}`,
    PARLEY_JWT_SECRET: SECRET, PARLEY_API_KEY: API_KEY, PORT: String(backendPort)}});
  const browser = await launchChromium();
  try {
    await backend.port;
    const pages = [];
    for (const user of ['alice', 'bob', 'carol']) {
      const page = await (await browser.newContext()).newPage();
      // A link followed from the app's own page (a navigation the browser typed itself would
      // count as same-site).
      await page.goto(`${appUrl}/?user=${user}`);
      await page.click('#chat');
      await page.waitForURL(`**/chatroom/${user}/`, {timeout: 15000});
      await waitForStatus(page, 'connected');
      pages.push(page);
    }
    const [alice, bob, carol] = pages;
    await say(alice, 'signed in by the app');
    await waitForLine(bob, 'signed in by the app');
    await say(bob, 'me too');
    await waitForLine(alice, 'me too');
    assert.deepEqual(await lines(alice), ['signed in by the app', 'me too']);

    // The session says where it came from.
    const session = await alice.evaluate(async () => (await fetch('/api/session')).json());
    assert.equal(session.identity, 'token');
    assert.equal(session.displayName, 'alice (from the app)');
    assert.equal(await alice.textContent('#me'), 'alice (from the app)');

    // The app makes a private room for alice and bob, and speaks in it.
    const team = await fetch(`${appUrl}/team?name=team&members=alice,bob`);
    assert.equal(team.status, 200, await team.text());
    for (const page of [alice, bob]) {
      await page.waitForSelector('#rooms button[data-key="#team"]', {timeout: 10000});
    }
    const said = await fetch(`${appUrl}/announce?room=team&text=${encodeURIComponent('welcome, team')}`);
    assert.equal(said.status, 200, await said.text());
    await alice.click('#rooms button[data-key="#team"]');
    await alice.waitForSelector('#message li.system:has-text("welcome, team")', {timeout: 10000});
    assert.equal(await alice.$eval('#message li.system .from', (e) => e.textContent), 'app');
    // carol sees no trace of it, and cannot get in by name.
    assert.equal(await carol.$$eval('#rooms button[data-key="#team"]', (e) => e.length), 0);
    const denied = await carol.evaluate(async () =>
      (await fetch('/api/rooms/team/join', {method: 'POST'})).status);
    assert.equal(denied, 404);

    // When the app ends bob's sessions, his page goes back to the app's sign-in.
    const ended = await fetch(`http://127.0.0.1:${adminPort}/admin/v1/users/bob/disconnect`,
                              {method: 'POST', headers: {'X-API-Key': API_KEY}});
    assert.equal(ended.status, 200, await ended.text());
    await bob.waitForSelector('#signin', {timeout: 15000});
    assert.ok(bob.url().startsWith(`${appUrl}/signin`), bob.url());

    // Without a session, the chat sends people to the app's sign-in page.
    const stranger = await (await browser.newContext()).newPage();
    const answer = await stranger.request.get(`${stack.url}/`, {maxRedirects: 0});
    assert.equal(answer.status(), 302);
    const login = await stranger.request.get(`${stack.url}/login`, {maxRedirects: 0});
    assert.equal(login.headers().location, `${appUrl}/signin`);
  } finally {
    await browser.close().catch(() => {});
    await backend.stop().catch(() => {});
    await stack.close();
    rmSync(dir, {recursive: true, force: true});
  }
});

test('docs/embedding.md shows the example backend as it is', () => {
  const doc = readFileSync(path.resolve('../../docs/embedding.md'), 'utf8');
  const shown = /```js\n([\s\S]*?)```/.exec(doc);
  assert.ok(shown, 'a js block in docs/embedding.md');
  assert.equal(shown[1], readFileSync(BACKEND, 'utf8'));
});
