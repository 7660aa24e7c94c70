// Keyboard only: the message list takes focus and scrolls with PageUp/PageDown/Home/End (and
// PageUp from the composer), Alt+↑/↓ move between conversations, Ctrl+K jumps to a room or
// person by name. On a desktop and on a phone (with a keyboard attached).
import assert from 'node:assert/strict';

import {apiSay, browserTest, DESKTOP, joinRoom, logInAll, logInOverApi, openSidebar, PHONE,
        waitForLine} from './harness.mjs';

const scrollTop = (page) => page.$eval('#message', (list) => list.scrollTop);
const focused = (page) => page.evaluate(() => document.activeElement.id);

for (const [device, viewport] of [['desktop', DESKTOP], ['phone', PHONE]]) {
  browserTest(`${device}: the message list scrolls by keyboard, and Alt+arrows and Ctrl+K move between conversations`, async ({stack, browser, pages}) => {
    const carol = await logInOverApi(stack, 'carol');
    for (let i = 1; i <= 60; i += 1) await apiSay(stack, carol, {room: 'lobby'}, `backlog ${i}`);
    const [alice] = await logInAll({stack, browser, pages, viewport}, 'alice');
    await waitForLine(alice, 'backlog 60');
    await openSidebar(alice);
    await joinRoom(alice, 'games');
    await alice.keyboard.press('Alt+ArrowUp');  // to the lobby, above #games
    await alice.waitForSelector('#title:text-is("#lobby")');
    await waitForLine(alice, 'backlog 60');

    // From the composer, Shift+Tab reaches the list (a focusable log).
    await alice.focus('#post');
    await alice.keyboard.press('Shift+Tab');
    assert.equal(await focused(alice), 'message');
    assert.equal(await alice.getAttribute('#message', 'role'), 'log');
    const bottom = await scrollTop(alice);
    await alice.keyboard.press('PageUp');
    await alice.waitForFunction((top) => document.getElementById('message').scrollTop < top, bottom);
    await alice.keyboard.press('End');
    await alice.waitForFunction(() => {
      const list = document.getElementById('message');
      return list.scrollHeight - list.scrollTop - list.clientHeight < 2;
    });
    await alice.keyboard.press('Home');
    await alice.waitForFunction(() => document.getElementById('message').scrollTop < 200);
    // PageUp from the composer scrolls the list too, and leaves the focus where it was. From
    // the bottom, so there is room to go up whether or not Home's older page has come yet.
    await alice.evaluate(() => {
      const list = document.getElementById('message');
      list.scrollTop = list.scrollHeight;
    });
    await alice.focus('#post');
    await alice.keyboard.press('End');
    const before = await scrollTop(alice);
    assert.ok(before > 0, `the list is scrolled to its bottom (${before})`);
    await alice.keyboard.press('PageUp');
    await alice.waitForFunction((top) => document.getElementById('message').scrollTop !== top, before);
    assert.equal(await focused(alice), 'post');

    await alice.keyboard.press('Alt+ArrowDown');
    await alice.waitForSelector('#title:text-is("#games")');
    await alice.keyboard.press('Alt+ArrowUp');
    await alice.waitForSelector('#title:text-is("#lobby")');

    // Ctrl+K: carol by part of her name (she is in the members pane), Enter opens the DM.
    await alice.waitForSelector('#online button[data-user="carol"]');
    await alice.keyboard.press('Control+k');
    await alice.waitForSelector('#switcher[open]');
    assert.equal(await focused(alice), 'switcher-input');
    await alice.keyboard.type('car');
    await alice.waitForSelector('#switcher-list li[aria-selected="true"]:has-text("carol")');
    await alice.keyboard.press('Enter');
    await alice.waitForSelector('#title:text-is("@carol")');
    assert.equal(await alice.isVisible('#switcher'), false);
    // And a room by name, Escape closes without going anywhere.
    await alice.keyboard.press('Control+k');
    await alice.keyboard.type('gam');
    await alice.keyboard.press('Escape');
    assert.equal(await alice.isVisible('#switcher'), false);
    await alice.waitForSelector('#title:text-is("@carol")');
    await alice.keyboard.press('Control+k');
    await alice.keyboard.type('#gam');
    await alice.keyboard.press('Enter');
    await alice.waitForSelector('#title:text-is("#games")');
  }, {brokerFlags: ['--publish_burst=1000']});
}
