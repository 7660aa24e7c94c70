// Alice and Bob in two browser contexts: presence, lobby chat both ways, direct messages.
import assert from 'node:assert/strict';
import {mkdirSync} from 'node:fs';
import path from 'node:path';

import {appToken, ARTIFACTS, browserTest, DESKTOP, lines, logIn, logInAll, logInWithToken, openSidebar,
        PHONE, say, waitForLine, writeTo} from './harness.mjs';

browserTest('alice and bob see each other online and chat in the lobby', async ({stack, browser, pages}) => {
  const [alice, bob] = await logInAll({stack, browser, pages}, 'alice', 'bob');

  await alice.waitForSelector('#online button[data-user="bob"]', {timeout: 20000});
  await bob.waitForSelector('#online button[data-user="alice"]');

  await say(alice, 'hello bob');
  await waitForLine(bob, 'hello bob', 5000);
  assert.equal(await alice.evaluate(() => document.activeElement.id), 'post',
               'the input keeps focus after Enter');
  await say(bob, 'hi alice');
  await waitForLine(alice, 'hi alice', 5000);

  // Own lines are marked, each line shown once, with sender and time.
  await waitForLine(alice, 'hello bob');
  assert.deepEqual(await lines(alice), ['hello bob', 'hi alice']);
  assert.deepEqual(await lines(bob), ['hello bob', 'hi alice']);
  assert.equal(await alice.$eval('#message li.mine .text', (e) => e.textContent), 'hello bob');
  assert.match(await bob.$eval('#message li:not(.mine) .from', (e) => e.textContent), /alice/);
  assert.equal(await bob.$$eval('#message li time', (t) => t.length), 2);
  assert.deepEqual([alice.dialogs, bob.dialogs], [[], []]);
  assert.deepEqual([alice.consoleErrors, bob.consoleErrors], [[], []]);
});

browserTest('a direct message reaches only its recipient', async ({stack, browser, pages}) => {
  const [alice, bob, carol] = await logInAll({stack, browser, pages}, 'alice', 'bob', 'carol');

  await alice.click('#online button[data-user="bob"]', {timeout: 20000});
  await alice.waitForSelector('#title:has-text("@bob")');
  await say(alice, 'just between us');
  await waitForLine(alice, 'just between us');

  // Bob: a new conversation with alice, unread until opened.
  await bob.waitForSelector('#dms button[data-key="@alice"] .unread', {timeout: 5000});
  assert.equal(await bob.$eval('#dms button[data-key="@alice"] .unread', (e) => e.textContent), '1');
  assert.deepEqual(await lines(bob), [], 'not in the lobby');
  await bob.click('#dms button[data-key="@alice"]');
  await waitForLine(bob, 'just between us');
  assert.equal(await bob.$$eval('#dms .unread', (e) => e.length), 0, 'read once opened');
  await say(bob, 'sure');
  await waitForLine(alice, 'sure', 5000);

  // Carol saw nothing: no conversation, no line anywhere. Give her poll loop the time it
  // needs to show a line (her status is connected, and a lobby line reaches her).
  await bob.click('#rooms button[data-key="#lobby"]');
  await say(bob, 'lobby line');
  await waitForLine(carol, 'lobby line');
  assert.equal(await carol.$$eval('#dms button', (e) => e.length), 0);
  assert.deepEqual(await lines(carol), ['lobby line']);
});

browserTest('login explains bad names and taken names, and remembers the session', async ({stack, browser, pages}) => {
  const [alice] = await logInAll({stack, browser, pages}, 'alice');

  const context = await browser.newContext();
  const page = await context.newPage();
  pages.push(page);
  await page.goto(`${stack.url}/login`);
  await page.fill('#name', 'alice');
  await page.press('#name', 'Enter');
  await page.waitForSelector('#error:has-text("taken")');
  assert.equal(new URL(page.url()).pathname, '/login');
  assert.equal(await page.inputValue('#name'), 'alice', 'the name typed stays, to be changed');

  // The browser's own check stops a bad name; the server says the same if it gets one.
  await page.evaluate(() => document.getElementById('name').removeAttribute('pattern'));
  await page.fill('#name', 'no spaces please');
  await page.press('#name', 'Enter');
  await page.waitForSelector('#error:has-text("name")');
  assert.equal(await page.inputValue('#name'), 'no spaces please');

  // A valid cookie goes straight to the chat.
  await alice.goto(`${stack.url}/login`);
  await alice.waitForURL('**/chatroom/alice/');
});

// A name that changes hands: the direct conversation says its holder logged out, and that
// whoever logs in with the name next may be someone new. On a desktop and on a phone.
for (const [device, viewport] of [['desktop', DESKTOP], ['phone', PHONE]]) {
  browserTest(`${device}: a direct conversation tells when its name changes hands`, async ({stack, browser, pages}) => {
    const [loA, loC] = await logInAll({stack, browser, pages, viewport}, 'lo_a', 'lo_c');
    await openSidebar(loC);
    await loC.click('#online button[data-user="lo_a"]');
    await say(loC, 'hi lo_a');
    await loA.waitForSelector('#dms button[data-key="@lo_c"] .unread');
    await loA.click('form[action="/logout"] button');
    await loA.waitForURL('**/login');
    await loC.waitForSelector('#message li.notice:has-text("lo_a logged out")');
    // Gone from the online list too, not left with a green dot.
    await openSidebar(loC);
    await loC.waitForSelector('#online button[data-user="lo_a"]', {state: 'detached', timeout: 8000});
    const newcomer = await logIn(browser, stack, 'lo_a', {viewport});
    pages.push(newcomer);
    await loC.waitForSelector('#message li.notice:has-text("Someone logged in as lo_a: this may be a new person")');
    // Writing to a name no one holds says so in the conversation too.
    await newcomer.click('form[action="/logout"] button');
    await newcomer.waitForURL('**/login');
    await loC.waitForSelector('#message li.notice:text-matches("lo_a logged out", "g") >> nth=1');
    await say(loC, 'are you still there?');
    await loC.waitForSelector('#message li.notice:has-text("lo_a is not here")');
    assert.equal(await loC.inputValue('#post'), 'are you still there?');
  });
}

// In a large lobby nobody is told of logins and logouts, so the page learns who holds a name
// from the messages: a line meant for the person written to is refused once someone else has
// the name, and comes back to the box; the conversation is closed, and the newcomer's lines
// start a new one, marked as a new person. On a desktop and on a phone.
for (const [device, viewport] of [['desktop', DESKTOP], ['phone', PHONE]]) {
  browserTest(`${device}: in a large lobby a line meant for a name's earlier holder is refused, and the newcomer is a new conversation`, async ({stack, browser, pages}) => {
    const [loA, loC] = await logInAll({stack, browser, pages, viewport}, 'lo_a', 'lo_c');
    await writeTo(loC, 'lo_a');
    await say(loC, 'hi lo_a');
    await waitForLine(loC, 'hi lo_a');
    await loA.waitForSelector('#dms button[data-key="@lo_c"] .unread');
    await loA.click('form[action="/logout"] button');
    await loA.waitForURL('**/login');
    const newcomer = await logIn(browser, stack, 'lo_a', {viewport});
    pages.push(newcomer);

    await say(loC, 'the code is 1234');
    await loC.waitForSelector('#composer-error:has-text("lo_a logged out and the name is someone else\'s now")');
    assert.equal(await loC.inputValue('#post'), 'the code is 1234');
    await loC.waitForSelector('#message li.notice:has-text("lo_a logged out, and the name now belongs to someone else")');
    await loC.waitForSelector('#title:text-is("@lo_a (before)")');
    // Enter again in the closed conversation sends nothing and keeps the text.
    await loC.press('#post', 'Enter');
    assert.equal(await loC.inputValue('#post'), 'the code is 1234');
    mkdirSync(ARTIFACTS, {recursive: true});
    await loC.screenshot({path: path.join(ARTIFACTS, `name-changed-${device}.png`)});  // docs/ui.md

    // The newcomer writes: a conversation of its own, marked as a new person; the refused
    // line never reached them.
    await writeTo(newcomer, 'lo_c');
    await say(newcomer, 'hello? who is this');
    await waitForLine(newcomer, 'hello? who is this');
    assert.deepEqual(await lines(newcomer), ['hello? who is this']);
    await loC.waitForSelector('#dms button[data-key="@lo_a"] .unread');
    await openSidebar(loC);
    await loC.click('#dms button[data-key="@lo_a"]');
    await waitForLine(loC, 'hello? who is this');
    await loC.waitForSelector('#message li.notice:has-text("A new person is using the name lo_a")');
    assert.deepEqual(await lines(loC), ['hello? who is this']);
    // The conversation with the one before is still there, closed.
    await openSidebar(loC);
    await loC.waitForSelector('#dms button:has-text("lo_a (before)")');
  }, {brokerFlags: ['--presence_events_max_members=1']});
}

// The same, when the newcomer writes first: their line starts a new conversation, and the one
// with the person before is closed (whoever had it open stays in it, not moved to the newcomer).
// lo_c only wrote, and reloaded since: the page knows whom from lo_c's own lines (toHolder).
browserTest('in a large lobby a newcomer to a name who writes first is a new conversation', async ({stack, browser, pages}) => {
  const [loA, loC] = await logInAll({stack, browser, pages}, 'lo_a', 'lo_c');
  await writeTo(loC, 'lo_a');
  await say(loC, 'hi from lo_c');
  await waitForLine(loC, 'hi from lo_c');
  await loA.waitForSelector('#dms button[data-key="@lo_c"] .unread');
  await loA.click('form[action="/logout"] button');
  await loA.waitForURL('**/login');
  await loC.reload();
  await loC.click('#dms button[data-key="@lo_a"]');
  await waitForLine(loC, 'hi from lo_c');
  const newcomer = await logIn(browser, stack, 'lo_a');
  pages.push(newcomer);
  await writeTo(newcomer, 'lo_c');
  await say(newcomer, 'hi from the new lo_a');

  await loC.waitForSelector('#message li.notice:has-text("lo_a logged out, and the name now belongs to someone else")');
  await loC.waitForSelector('#title:text-is("@lo_a (before)")');
  assert.deepEqual(await lines(loC), ['hi from lo_c']);
  await loC.waitForSelector('#dms button[data-key="@lo_a"] .unread');
  await loC.click('#dms button[data-key="@lo_a"]');
  await waitForLine(loC, 'hi from the new lo_a');
  assert.deepEqual(await lines(loC), ['hi from the new lo_a']);
  await loC.waitForSelector('#message li.notice:has-text("A new person is using the name lo_a")');
  // A reload rebuilds the same two conversations from the queue.
  await loC.reload();
  await loC.waitForSelector('#dms button:has-text("lo_a (before)")');
  await loC.click('#dms button[data-key="@lo_a"]');
  await waitForLine(loC, 'hi from the new lo_a');
  assert.deepEqual(await lines(loC), ['hi from the new lo_a']);
}, {brokerFlags: ['--presence_events_max_members=1']});

// An app's users: a direct message to one not signed in is kept, the conversation says so,
// and it is there when they sign in. On a desktop and on a phone.
const APP_SECRET = 'an-app-secret-of-more-than-32-bytes-0123';
for (const [device, viewport] of [['desktop', DESKTOP], ['phone', PHONE]]) {
  browserTest(`${device}: a direct message to an app's user who is away waits for them`, async ({stack, browser, pages}) => {
    const alice = await logInWithToken(browser, stack, appToken(APP_SECRET, 'alice'), {viewport});
    pages.push(alice);
    await writeTo(alice, 'dave');
    await say(alice, 'see you Monday');
    await waitForLine(alice, 'see you Monday');
    await alice.waitForSelector('#message li.notice:has-text("dave is not signed in: your messages are kept")');
    assert.equal(await alice.textContent('#composer-error'), '');
    assert.equal(await alice.inputValue('#post'), '');

    const dave = await logInWithToken(browser, stack, appToken(APP_SECRET, 'dave'), {viewport});
    pages.push(dave);
    await dave.waitForSelector('#dms button[data-key="@alice"] .unread:text-is("1")');
    await openSidebar(dave);
    await dave.click('#dms button[data-key="@alice"]');
    await waitForLine(dave, 'see you Monday');
  }, {frontendFlags: ['--auth=tokens'], frontendEnv: {PARLEY_JWT_SECRET: APP_SECRET}});
}
