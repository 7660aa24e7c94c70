// Rooms: join or create one, post there, and a later joiner sees its history; unread counts.
import assert from 'node:assert/strict';

import {browserTest, joinRoom, logInAll, lines, say, waitForLine} from './harness.mjs';


browserTest('a room created by one side shows its history to the next who joins', async ({stack, browser, pages}) => {
  const [alice, bob] = await logInAll({stack, browser, pages}, 'alice', 'bob');

  await joinRoom(alice, 'games');
  await say(alice, 'anyone for chess?');
  await say(alice, 'I play white');
  await waitForLine(alice, 'I play white');
  assert.equal(await bob.$$eval('#rooms button[data-key="#games"]', (e) => e.length), 0,
               'bob is not in games');

  await joinRoom(bob, 'games');
  await waitForLine(bob, 'anyone for chess?');
  assert.deepEqual(await lines(bob), ['anyone for chess?', 'I play white']);
  await alice.waitForSelector('#message li.notice:has-text("bob joined #games")');
  await alice.waitForSelector('#online button[data-user="bob"]');

  // A line in a room you are not looking at counts as unread there.
  await alice.click('#rooms button[data-key="#lobby"]');
  await say(bob, 'me!');
  await alice.waitForSelector('#rooms button[data-key="#games"] .unread:has-text("1")');
  await alice.click('#rooms button[data-key="#games"]');
  await waitForLine(alice, 'me!');
  assert.equal(await alice.$$eval('#rooms .unread', (e) => e.length), 0);

  // Leaving takes the room off the list and back to the lobby.
  await bob.click('#leave');
  await bob.waitForSelector('#title:has-text("#lobby")');
  assert.equal(await bob.$$eval('#rooms button[data-key="#games"]', (e) => e.length), 0);
  await alice.waitForSelector('#message li.notice:has-text("bob left #games")');
});
