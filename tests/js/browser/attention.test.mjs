// What asks for attention: @mentions highlighted and counted apart, direct-message badges
// unlike room badges, a dot on the phone's menu button, the tab title, and desktop
// notifications for direct messages and mentions, off until the user turns them on.
import assert from 'node:assert/strict';

import {browserTest, DESKTOP, joinRoom, logInAll, openSidebar, PHONE, say, waitForLine,
        waitForStatus} from './harness.mjs';

// Replaces the browser's Notification with one that records what would be shown (headless
// Chromium shows none), granted when asked.
function recordNotifications() {
  window.shown = [];
  window.Notification = class {
    static permission = 'default';
    static async requestPermission() {
      window.Notification.permission = 'granted';
      return 'granted';
    }
    constructor(title, options) {
      window.shown.push({title, body: options.body});
    }
    addEventListener() {}
  };
}

for (const [device, viewport] of [['desktop', DESKTOP], ['phone', PHONE]]) {
  browserTest(`${device}: mentions and direct messages stand out, in the sidebar, the menu and the title`, async ({stack, browser, pages}) => {
    const [alice, bob] = await logInAll({stack, browser, pages, viewport}, 'alice', 'bob');
    for (const page of [alice, bob]) {
      await openSidebar(page);
      await joinRoom(page, 'games');
    }
    await openSidebar(alice);
    await alice.click('#rooms button[data-key="#lobby"]');
    await say(bob, 'hey @alice, look at this');
    await say(bob, 'a plain line');
    const games = alice.locator('#rooms button[data-key="#games"]');
    await games.locator('.unread:text-is("2")').waitFor();
    assert.equal(await games.locator('.badge-mention').textContent(), '@1');
    assert.equal(await games.getAttribute('aria-label'), 'room games, 1 mentioning you, 2 unread');

    await openSidebar(bob);
    await bob.click('#online button[data-user="alice"]');
    await say(bob, 'just for you');
    const dm = alice.locator('#dms button[data-key="@bob"]');
    await dm.locator('.unread.dm:text-is("1")').waitFor();
    const colour = (locator) => locator.evaluate((e) => getComputedStyle(e).backgroundColor);
    assert.notEqual(await colour(dm.locator('.unread')), await colour(games.locator('.unread')),
                    'a direct message badge does not look like a room badge');
    assert.equal(await alice.title(), '(2) ● Parley');  // one mention, one direct message
    if (viewport === PHONE) {
      await alice.keyboard.press('Escape');
      assert.equal(await alice.getAttribute('#menu', 'data-attention'), 'urgent');
      assert.match(await alice.getAttribute('#menu', 'aria-label'), /2 waiting for you/);
      assert.ok(await alice.isVisible('#menu'));
    }

    await openSidebar(alice);
    await games.click();
    await waitForLine(alice, 'hey @alice, look at this');
    const mentioned = alice.locator('#message li.mentions-me');
    assert.equal(await mentioned.count(), 1);
    assert.equal(await mentioned.locator('.mention.me').textContent(), '@alice');
    assert.equal(await alice.title(), '(1) ● Parley');
  });
}

browserTest('desktop notifications: off by default, on after a click, for direct messages and mentions only', async ({stack, browser, pages}) => {
  const [alice, bob] = await logInAll({stack, browser, pages}, 'alice', 'bob');
  await alice.context().addInitScript(recordNotifications);
  await alice.reload();
  await waitForStatus(alice, 'connected');
  assert.equal(await alice.getAttribute('#notify', 'aria-pressed'), 'false');
  await bob.click('#online button[data-user="alice"]');
  await say(bob, 'before turning them on');
  await alice.waitForSelector('#dms button[data-key="@bob"] .unread');
  assert.deepEqual(await alice.evaluate(() => window.shown), [], 'off by default');

  await alice.click('#notify');
  await alice.waitForSelector('#notify[aria-pressed="true"]');
  await say(bob, 'after turning them on');
  await alice.waitForFunction(() => window.shown.length === 1);
  assert.deepEqual(await alice.evaluate(() => window.shown),
                   [{title: 'bob (direct message)', body: 'after turning them on'}]);
  // Looking at the direct conversation, alice hears of a mention in the lobby, not of the
  // lobby's other lines.
  await alice.click('#dms button[data-key="@bob"]');
  await bob.click('#rooms button[data-key="#lobby"]');
  await say(bob, 'no one named here');
  await say(bob, 'but @alice is');
  await alice.waitForFunction(() => window.shown.length === 2);
  await alice.waitForSelector('#rooms button[data-key="#lobby"] .badge-mention');
  assert.deepEqual((await alice.evaluate(() => window.shown)).map((n) => n.body),
                   ['after turning them on', 'but @alice is']);
});
