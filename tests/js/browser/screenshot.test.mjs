// A lively chat, saved as screenshots in the build tree (desktop and phone width) for the
// README and for people to look at.
import assert from 'node:assert/strict';
import {mkdirSync} from 'node:fs';
import path from 'node:path';

import {apiCall, apiSay, ARTIFACTS, browserTest, joinRoom, logIn, logInOverApi, PHONE, say,
        waitForLine} from './harness.mjs';

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

// The views docs/ui.md shows: scroll-back in a long room, a big room's member search and the
// room directory, the composer near its limit, and a phone with something waiting.
browserTest('scroll-back, a big room, the composer and the phone, as docs/ui.md shows them', async ({stack, browser, pages}) => {
  mkdirSync(ARTIFACTS, {recursive: true});
  const shot = (page, name) => page.screenshot({path: path.join(ARTIFACTS, name)});
  const carol = await logInOverApi(stack, 'carol');
  await apiCall(stack, carol, 'POST', '/api/rooms/design/join');
  for (let i = 1; i <= 120; i += 1) {
    await apiSay(stack, carol, {room: 'design'},
                 i % 10 === 0 ? `Checkpoint ${i / 10}: see https://example.com/build/${i} and run \`make test\``
                              : `Design note ${i}: *latency* is fine, **throughput** next`);
  }
  for (let i = 0; i < 60; i += 1) {
    const token = await logInOverApi(stack, `member${String(i).padStart(2, '0')}`);
    await apiCall(stack, token, 'POST', '/api/rooms/design/join');
  }
  const alice = await logIn(browser, stack, 'alice', {viewport: {width: 1100, height: 700}});
  pages.push(alice);
  await joinRoom(alice, 'design');
  await alice.waitForFunction(() => {
    document.getElementById('message').scrollTop = 0;
    return document.querySelector('#message li.start') !== null;
  }, null, {polling: 250, timeout: 30000});
  await shot(alice, 'parley-history.png');

  await alice.fill('#member-prefix', 'member1');
  await alice.waitForFunction(() => document.querySelectorAll('#online button[data-user]').length === 10);
  await alice.click('#browse');
  await alice.waitForSelector('#directory li');
  await shot(alice, 'parley-big-room.png');

  await alice.fill('#post', `A long reply:\n${'All of this fits, up to the limit. '.repeat(50)}`);
  await alice.waitForFunction(() => document.getElementById('counter').textContent !== '');
  await shot(alice, 'parley-composer.png');

  const phone = await logIn(browser, stack, 'dave', {viewport: PHONE});
  pages.push(phone);
  await apiSay(stack, carol, {to: 'dave'}, 'Are you coming to the review, @dave?');
  await phone.waitForSelector('#menu[data-attention="urgent"]');
  await shot(phone, 'parley-phone-attention.png');
  for (const page of pages) assert.deepEqual(page.dialogs, []);
  assert.deepEqual(alice.consoleErrors, []);
}, {brokerFlags: ['--publish_burst=1000'], frontendFlags: ['--login_burst=1000']});
