// Presence in a large room: the online count follows logins and logouts, and no JOIN/LEAVE
// line is shown (the threshold is lowered by flag so three people make a room large).
import assert from 'node:assert/strict';

import {browserTest, logInAll, logInOverApi} from './harness.mjs';

const presenceLines = (page) => page.$$eval('#message li.notice', (items) =>
  items.map((i) => i.textContent).filter((t) => / (joined|left) #/.test(t)));

browserTest('a large room shows its online count change without join or leave lines', async ({stack, browser, pages}) => {
  const [alice, bob] = await logInAll({stack, browser, pages}, 'alice', 'bob');
  // Two members: a small room, with its JOIN line.
  await alice.waitForSelector('#message li.notice:has-text("bob joined #lobby")');
  await alice.waitForFunction(() => document.querySelector('#online-count').textContent === '2');

  // The third member makes the room large: the lines go, the count stays.
  const carol = await logInOverApi(stack, 'carol');
  await alice.waitForFunction(() => document.querySelector('#online-count').textContent === '3',
                              null, {timeout: 15000});
  assert.deepEqual(await presenceLines(alice), [], 'a large room shows no JOIN/LEAVE lines');
  await bob.waitForFunction(() => document.querySelector('#online-count').textContent === '3',
                            null, {timeout: 15000});

  const dave = await logInOverApi(stack, 'dave');
  await alice.waitForFunction(() => document.querySelector('#online-count').textContent === '4',
                              null, {timeout: 15000});
  for (const token of [carol, dave]) {
    const out = await fetch(`${stack.url}/api/session`,
                            {method: 'DELETE', headers: {Authorization: `Bearer ${token}`}});
    assert.equal(out.status, 200);
  }
  await alice.waitForFunction(() => document.querySelector('#online-count').textContent === '2',
                              null, {timeout: 15000});
  assert.deepEqual(await presenceLines(alice), []);
  assert.deepEqual(await presenceLines(bob), []);
  await bob.waitForFunction(() => document.querySelector('#online-count').textContent === '2',
                            null, {timeout: 15000});
  assert.deepEqual(await alice.$$eval('#online li', (items) => items.map((i) => i.textContent)),
                   ['alice (you)', 'bob']);
}, {brokerFlags: ['--presence_events_max_members=2', '--presence_notify_interval=1s']});

browserTest('a login storm makes the page fetch the member list at most once every 3 s', async ({stack, browser, pages}) => {
  const [alice] = await logInAll({stack, browser, pages}, 'alice');
  const fetched = [];
  alice.on('request', (request) => {
    if (/\/api\/rooms\/lobby\/members/.test(request.url())) fetched.push(Date.now());
  });
  // Twelve logins over some 6 s: the lobby's presence version moves every half second (the
  // broker tells it at most that often here), each poll answer says so.
  for (let i = 0; i < 12; i += 1) {
    await logInOverApi(stack, `storm${i}`);
    await alice.waitForTimeout(500);
  }
  await alice.waitForFunction(() => document.querySelector('#online-count').textContent === '13',
                              null, {timeout: 15000});
  assert.ok(fetched.length >= 2, `re-fetched as the room changed: ${fetched.length}`);
  for (let i = 1; i < fetched.length; i += 1) {
    assert.ok(fetched[i] - fetched[i - 1] >= 3000 - 50,
              `fetches ${fetched[i] - fetched[i - 1]} ms apart: ${fetched.map((t) => t - fetched[0])}`);
  }
}, {brokerFlags: ['--presence_events_max_members=2', '--presence_notify_interval=0.5s'],
    frontendFlags: ['--login_burst=100']});
