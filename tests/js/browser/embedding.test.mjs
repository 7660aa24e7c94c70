// Parley inside an app: the example backend of docs/embedding.md (examples/embedding/
// backend.mjs, started as it is) signs tokens for its users and sends them to the chat, where
// they talk. The backend is browsed at "localhost" and Parley at "127.0.0.1": two sites, so the
// token link arrives cross-site as it does in production, and the SameSite=Strict cookie must
// still reach the chat.
import assert from 'node:assert/strict';
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {test} from 'node:test';

import {freePort, Program} from '../lib/stack.mjs';
import {launchChromium, lines, say, Stack, waitForLine, waitForStatus} from './harness.mjs';

const BACKEND = path.resolve('../../examples/embedding/backend.mjs');
const SECRET = 'an-app-secret-of-more-than-32-bytes-0123';

test('users signed in by the app chat through its tokens', {timeout: 120000}, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'parley-embedding-'));
  const secretFile = path.join(dir, 'jwt-secret');
  writeFileSync(secretFile, SECRET);
  const backendPort = await freePort();
  const appUrl = `http://localhost:${backendPort}`;
  const stack = await Stack.start({frontendFlags: [
    '--auth=tokens', `--jwt_secret_file=${secretFile}`, '--jwt_audience=parley',
    `--login_url=${appUrl}/signin`]});
  const backend = new Program('backend', [process.execPath, BACKEND], {env: {
    PARLEY_URL: stack.url, PARLEY_JWT_SECRET: SECRET, PORT: String(backendPort)}});
  const browser = await launchChromium();
  try {
    await backend.port;
    const pages = [];
    for (const user of ['alice', 'bob']) {
      const page = await (await browser.newContext()).newPage();
      // A link followed from the app's own page (a navigation the browser typed itself would
      // count as same-site).
      await page.goto(`${appUrl}/?user=${user}`);
      await page.click('#chat');
      await page.waitForURL(`**/chatroom/${user}/`, {timeout: 15000});
      await waitForStatus(page, 'connected');
      pages.push(page);
    }
    const [alice, bob] = pages;
    await say(alice, 'signed in by the app');
    await waitForLine(bob, 'signed in by the app');
    await say(bob, 'me too');
    await waitForLine(alice, 'me too');
    assert.deepEqual(await lines(alice), ['signed in by the app', 'me too']);

    // The session says where it came from.
    const session = await alice.evaluate(async () => (await fetch('/api/session')).json());
    assert.equal(session.identity, 'token');
    assert.equal(session.displayName, 'alice (from the app)');

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
