// The composer: a box that grows, Enter sends and Shift+Enter starts a line, pasted lines
// keep their breaks, a counter near the server's limit that stops a send past it, and a
// refusal that hands the text back for editing (no Retry that could never pass). On a
// desktop and on a phone.
import assert from 'node:assert/strict';

import {browserTest, DESKTOP, lines, logInAll, PHONE, waitForLine, writeTo} from './harness.mjs';

for (const [device, viewport] of [['desktop', DESKTOP], ['phone', PHONE]]) {
  browserTest(`${device}: Shift+Enter starts a new line, pasted lines keep their breaks, Enter sends`, async ({stack, browser, pages}) => {
    const [alice, bob] = await logInAll({stack, browser, pages, viewport}, 'alice', 'bob');
    await alice.click('#post');
    await alice.keyboard.type('first line');
    await alice.keyboard.press('Shift+Enter');
    await alice.keyboard.type('second line');
    const oneLineHeight = (await alice.$eval('#post', (e) => e.getBoundingClientRect().height));
    await alice.keyboard.press('Shift+Enter');
    await alice.keyboard.type('third');
    assert.equal(await alice.inputValue('#post'), 'first line\nsecond line\nthird',
                 'nothing was sent yet');
    assert.ok((await alice.$eval('#post', (e) => e.getBoundingClientRect().height)) > oneLineHeight,
              'the box grew with its lines');
    await alice.keyboard.press('Enter');
    await waitForLine(bob, 'first line\nsecond line\nthird');
    assert.equal(await alice.inputValue('#post'), '');

    // A paste of three lines arrives as three lines, not joined by spaces.
    await alice.context().grantPermissions(['clipboard-read', 'clipboard-write'], {origin: stack.url});
    await alice.evaluate(() => navigator.clipboard.writeText('one\ntwo\nthree'));
    await alice.focus('#post');
    await alice.keyboard.press('Control+V');
    assert.equal(await alice.inputValue('#post'), 'one\ntwo\nthree');
    await alice.keyboard.press('Enter');
    await waitForLine(bob, 'one\ntwo\nthree');
  });

  browserTest(`${device}: a counter shows near the limit and a line past it is not sent`, async ({stack, browser, pages}) => {
    const [alice, bob] = await logInAll({stack, browser, pages, viewport}, 'alice', 'bob');
    assert.equal(await alice.textContent('#counter'), '');
    await alice.fill('#post', 'a'.repeat(1900));
    assert.equal(await alice.textContent('#counter'), '100 characters left');
    await alice.fill('#post', '€'.repeat(2005));  // 2005 characters (6015 bytes)
    assert.equal(await alice.textContent('#counter'), '5 characters over the limit of 2,000');
    assert.equal(await alice.isDisabled('#send'), true);
    await alice.press('#post', 'Enter');
    await alice.waitForSelector('#composer-error:has-text("too long")');
    assert.equal(await alice.inputValue('#post'), '€'.repeat(2005), 'the text is kept');
    assert.equal(await alice.$('#message li.pending'), null, 'nothing was sent');
    // Back under the limit: sent, counted in characters, not bytes.
    await alice.fill('#post', '€'.repeat(1365));  // 4095 bytes
    assert.equal(await alice.isDisabled('#send'), false);
    await alice.press('#post', 'Enter');
    await waitForLine(bob, '€'.repeat(1365));
  });

  browserTest(`${device}: a refused line comes back into the box with the reason, and no Retry`, async ({stack, browser, pages}) => {
    const [alice] = await logInAll({stack, browser, pages, viewport}, 'alice');
    // A direct message to a name no one holds: the server refuses it (404), for good.
    await writeTo(alice, 'nobody');
    await alice.fill('#post', 'are you there?\nsecond line');
    await alice.press('#post', 'Enter');
    await alice.waitForSelector('#composer-error:has-text("Not sent to nobody")');
    assert.equal(await alice.inputValue('#post'), 'are you there?\nsecond line',
                 'the text is back for editing');
    assert.equal(await alice.$('#message li.pending'), null, 'no failed line is left behind');
    assert.equal(await alice.$('button.retry, button:has-text("Retry")'), null);
    assert.deepEqual(await lines(alice), []);
  });
}
