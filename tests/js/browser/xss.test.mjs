// Text is text: markup in a message is shown literally and never runs.
import assert from 'node:assert/strict';

import {browserTest, logInAll, say, waitForLine} from './harness.mjs';

browserTest('markup in messages shows as literal text and opens no dialog', async ({stack, browser, pages}) => {
  const [alice, bob] = await logInAll({stack, browser, pages}, 'alice', 'bob');
  const nasty = [
    '<img src=x onerror=alert(1)>',
    '<script>alert(2)</script>',
    '"><svg onload=alert(3)>',
  ];
  for (const text of nasty) await say(alice, text);
  for (const text of nasty) await waitForLine(bob, text);

  for (const page of [alice, bob]) {
    assert.equal(await page.$$eval('#message img, #message script, #message svg', (e) => e.length), 0);
    assert.deepEqual(page.dialogs, []);
  }
  // The policy that forbids inline script holds on the page itself.
  const response = await bob.goto(bob.url());
  assert.match(response.headers()['content-security-policy'], /script-src 'self'/);
  await waitForLine(bob, nasty[0]);
  assert.deepEqual(bob.dialogs, []);
});
