// Finding anyone: the members pane pages on past its first 50 names and searches every
// member by the start of the name; the room directory lists public rooms with their member
// counts and joins one; a name typed in the sidebar opens a direct conversation. On a desktop
// and on a phone.
import assert from 'node:assert/strict';

import {apiCall, browserTest, DESKTOP, joinRoom, logInAll, logInOverApi, openSidebar,
        PHONE} from './harness.mjs';

const names = (page) => page.$$eval('#online li', (items) => items.map((i) => i.textContent));

for (const [device, viewport] of [['desktop', DESKTOP], ['phone', PHONE]]) {
  browserTest(`${device}: 300 members are all reachable: "Show more" and a search by name`, async ({stack, browser, pages}) => {
    const crowd = [];
    for (let i = 0; i < 300; i += 1) crowd.push(`m${String(i).padStart(3, '0')}`);
    for (const name of crowd) {
      const token = await logInOverApi(stack, name);
      await apiCall(stack, token, 'POST', '/api/rooms/crowd/join');
    }
    const [alice] = await logInAll({stack, browser, pages, viewport}, 'alice');
    await openSidebar(alice);
    await joinRoom(alice, 'crowd');
    await openSidebar(alice);
    await alice.waitForSelector('#online-title:text-is("Online in #crowd")');
    await alice.waitForFunction(() => document.querySelector('#online-count').textContent === '301');
    // A page of 50 by name: alice (listed first, as "you") and the first 49 others.
    assert.equal((await names(alice)).length, 50);
    await alice.click('#members-more');
    await alice.waitForFunction(() => document.querySelectorAll('#online li').length === 100);
    assert.deepEqual((await names(alice)).slice(1), crowd.slice(0, 99));

    await alice.fill('#member-prefix', 'm29');
    await alice.waitForFunction(() => document.querySelectorAll('#online li').length === 10);
    assert.deepEqual(await names(alice), crowd.slice(290));
    assert.equal(await alice.isVisible('#members-more'), false);
    await alice.fill('#member-prefix', 'zz');
    await alice.waitForSelector('#online li.empty:text-is("No one by that name.")');
    await alice.fill('#member-prefix', 'm2999');
    await alice.waitForSelector('#online li.empty');
    await alice.fill('#member-prefix', 'm295');
    await alice.waitForFunction(() => document.querySelectorAll('#online button[data-user]').length === 1);
    await alice.click('#online button[data-user="m295"]');
    await alice.waitForSelector('#title:has-text("@m295")');
    // The API users never poll: a long presence window keeps them online for the test.
}, {frontendFlags: ['--login_burst=1000'], brokerFlags: ['--presence_window=10m']});

  browserTest(`${device}: the room directory lists public rooms with member counts and joins one`, async ({stack, browser, pages}) => {
    const carol = await logInOverApi(stack, 'carol');
    const dave = await logInOverApi(stack, 'dave');
    for (const token of [carol, dave]) await apiCall(stack, token, 'POST', '/api/rooms/quiet/join');
    const [alice] = await logInAll({stack, browser, pages, viewport}, 'alice');
    await openSidebar(alice);
    await alice.click('#browse');
    await alice.waitForSelector('#directory li:has-text("#quiet")');
    assert.deepEqual(await alice.$$eval('#directory li', (items) => items.map((i) => i.textContent)),
                     ['#lobby3 membersOpen', '#quiet2 membersJoin']);
    await alice.click('#directory button[data-join="quiet"]');
    await alice.waitForSelector('#title:has-text("#quiet")');
    await alice.waitForSelector('#rooms button[data-key="#quiet"]');
    const members = await apiCall(stack, carol, 'GET', '/api/rooms/quiet/members');
    assert.deepEqual(members.members.map((m) => m.user), ['alice', 'carol', 'dave']);
  });
}
