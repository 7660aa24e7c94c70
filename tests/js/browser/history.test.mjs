// Scroll-back: a room's history loads page by page as the reader scrolls up, down to "the
// start of #room"; days are marked; a reader coming back finds "New since you left" at the
// first line they had not seen, in view. On a desktop and on a phone.
import assert from 'node:assert/strict';

import {apiCall, apiSay, browserTest, DESKTOP, joinRoom, lines, logInAll, logInOverApi,
        openSidebar, PHONE, waitForLine} from './harness.mjs';

const FLAGS = {brokerFlags: ['--publish_burst=1000']};

for (const [device, viewport] of [['desktop', DESKTOP], ['phone', PHONE]]) {
  browserTest(`${device}: a late joiner scrolls back through 300 lines to the start of the room`, async ({stack, browser, pages}) => {
    const carol = await logInOverApi(stack, 'carol');
    await apiCall(stack, carol, 'POST', '/api/rooms/big/join');
    const written = [];
    for (let i = 1; i <= 300; i += 1) {
      written.push(`line ${i}`);
      await apiSay(stack, carol, {room: 'big'}, `line ${i}`);
    }
    const [alice] = await logInAll({stack, browser, pages, viewport}, 'alice');
    await openSidebar(alice);
    await joinRoom(alice, 'big');
    await waitForLine(alice, 'line 300');
    const first = await lines(alice);
    assert.ok(first.length < 300, `the first page is a page, not all (${first.length})`);
    assert.equal(await alice.$('#message li.start'), null);
    // Scrolling up loads older pages until the room's first line.
    await alice.waitForFunction(() => {
      const list = document.getElementById('message');
      list.scrollTop = 0;
      return document.querySelector('#message li.start') !== null;
    }, null, {polling: 250, timeout: 30000});
    assert.equal(await alice.textContent('#message li.start'), 'This is the start of #big.');
    assert.deepEqual(await lines(alice), written, 'every line once, in order');
    // Days are marked: today's lines sit under "Today".
    assert.deepEqual(await alice.$$eval('#message li.day', (items) => items.map((i) => i.textContent)),
                     ['Today']);
  }, FLAGS);

  browserTest(`${device}: coming back to a room with 120 unread opens at "New since you left"`, async ({stack, browser, pages}) => {
    const [bob] = await logInAll({stack, browser, pages, viewport}, 'bob');
    const carol = await logInOverApi(stack, 'carol');
    await apiCall(stack, carol, 'POST', '/api/rooms/games/join');
    await apiSay(stack, carol, {room: 'games'}, 'seen before');
    await openSidebar(bob);
    await joinRoom(bob, 'games');
    await waitForLine(bob, 'seen before');
    await openSidebar(bob);
    await bob.click('#rooms button[data-key="#lobby"]');
    await bob.waitForSelector('#title:has-text("#lobby")');
    for (let i = 1; i <= 120; i += 1) await apiSay(stack, carol, {room: 'games'}, `unread ${i}`);
    await bob.waitForSelector('#rooms button[data-key="#games"] .unread:text-is("120")');
    if (viewport === PHONE) {
      // The phone's menu button carries a dot while something waits behind it.
      assert.equal(await bob.getAttribute('#menu', 'data-attention'), 'unread');
    }
    await openSidebar(bob);
    await bob.click('#rooms button[data-key="#games"]');
    await bob.waitForSelector('#message li.new-marker');
    // The marker sits right before the first unread line, and is on screen; the newest line
    // is not (the reader starts where they left off).
    assert.equal(await bob.$eval('#message li.new-marker + li .text', (e) => e.textContent), 'unread 1');
    const inView = (selector) => bob.$eval(selector, (item) => {
      const box = item.getBoundingClientRect();
      const list = document.getElementById('message').getBoundingClientRect();
      return box.bottom > list.top && box.top < list.bottom;
    });
    assert.ok(await inView('#message li.new-marker'), 'the marker is in view');
    assert.ok(!(await inView('#message li:last-child')), 'the list did not jump to the bottom');
    assert.equal(await bob.isVisible('#jump'), true);
    // "New messages ↓" leaves "Leave this room" visible and clickable.
    assert.ok(await bob.isVisible('#leave'));
    const overlap = await bob.evaluate(() => {
      const a = document.getElementById('jump').getBoundingClientRect();
      const b = document.getElementById('leave').getBoundingClientRect();
      return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
    });
    assert.equal(overlap, false);
    assert.equal(await bob.$('#rooms button[data-key="#games"] .unread'), null);
  }, FLAGS);
}
