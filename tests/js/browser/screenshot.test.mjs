// A lively chat, saved as screenshots in the build tree (desktop and phone width) for the
// README and for people to look at.
import assert from 'node:assert/strict';
import {mkdirSync} from 'node:fs';
import path from 'node:path';

import {ARTIFACTS, browserTest, joinRoom, logIn, say, waitForLine} from './harness.mjs';

browserTest('a lively chat looks right on a desktop and on a phone', async ({stack, browser, pages}) => {
  const alice = await logIn(browser, stack, 'alice', {viewport: {width: 1100, height: 700}});
  const bob = await logIn(browser, stack, 'bob');
  const carol = await logIn(browser, stack, 'carol');
  pages.push(alice, bob, carol);

  await say(bob, 'Morning all! Who is up for the design review at 10?');
  await say(carol, 'Me. I will bring the latency graphs.');
  await say(carol, 'p99 is down to 40 ms since the last deploy!');
  await say(alice, 'Great work! Let us use the #design room.');
  await waitForLine(alice, 'Great work! Let us use the #design room.');
  for (const page of [alice, bob]) await joinRoom(page, 'design');
  await say(bob, 'Draft is in the shared folder.');
  await waitForLine(alice, 'Draft is in the shared folder.');
  await alice.click('#rooms button[data-key="#lobby"]');
  await carol.click('#online button[data-user="alice"]');
  await say(carol, 'Can you review my PR after lunch?');
  await alice.waitForSelector('#dms button[data-key="@carol"] .unread');
  await bob.click('#rooms button[data-key="#lobby"]');
  await say(bob, 'Coffee first');
  await waitForLine(alice, 'Coffee first');
  await alice.waitForSelector('#online button[data-user="carol"]');

  mkdirSync(ARTIFACTS, {recursive: true});
  const desktop = path.join(ARTIFACTS, 'parley-chat.png');
  await alice.screenshot({path: desktop});

  const phone = await logIn(browser, stack, 'dave', {viewport: {width: 390, height: 760}});
  pages.push(phone);
  await say(phone, 'Hello from my phone');
  await waitForLine(phone, 'Hello from my phone');
  const sidebarRight = () => phone.$eval('#sidebar', (e) => e.getBoundingClientRect().right);
  assert.ok(await sidebarRight() <= 0, 'the sidebar is folded away');
  assert.equal(await phone.$eval('#post', (e) => e.getBoundingClientRect().right <= 390), true);
  await phone.screenshot({path: path.join(ARTIFACTS, 'parley-phone.png')});
  await phone.click('#menu');
  await phone.waitForFunction(() => document.getElementById('sidebar').getBoundingClientRect().left >= 0);
  await phone.screenshot({path: path.join(ARTIFACTS, 'parley-phone-menu.png')});
  for (const page of pages) assert.deepEqual(page.dialogs, []);
  assert.deepEqual(alice.consoleErrors, []);
});
