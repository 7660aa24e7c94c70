// Text is text: markup in a message is shown literally and never runs. The little formatting
// the page does (links, code, emphasis, mentions) is built from text nodes, so it cannot be
// turned into HTML either. On a desktop and on a phone.
import assert from 'node:assert/strict';

import {browserTest, DESKTOP, logInAll, PHONE, say, waitForLine, waitForLines} from './harness.mjs';

browserTest('markup in messages shows as literal text and opens no dialog', async ({stack, browser, pages}) => {
  const [alice, bob] = await logInAll({stack, browser, pages}, 'alice', 'bob');
  const nasty = [
    '<img src=x onerror=alert(1)>',
    '<script>alert(2)</script>',
    '"><svg onload=alert(3)>',
    'javascript:alert(4) and [x](javascript:alert(5))',
    '*<b>bold</b>* `<i>code</i>` **<a href="javascript:alert(6)">x</a>**',
    'http://example.com/"><img src=x onerror=alert(7)>',
    '```\n<script>alert(8)</script>\n```',
  ];
  for (const text of nasty) await say(alice, text);
  await waitForLines(bob, nasty.length);
  await waitForLine(bob, nasty[2]);

  for (const page of [alice, bob]) {
    assert.equal(await page.$$eval('#message img, #message script, #message svg, #message b, #message i',
                                   (e) => e.length), 0);
    // The only link is the http one, and it goes nowhere but where it says.
    assert.deepEqual(await page.$$eval('#message a', (links) => links.map((a) => a.href)),
                     ['http://example.com/']);
    assert.deepEqual(page.dialogs, []);
  }
  // The policy that forbids inline script holds on the page itself.
  const response = await bob.goto(bob.url());
  assert.match(response.headers()['content-security-policy'], /script-src 'self'/);
  await waitForLines(bob, nasty.length);
  assert.deepEqual(bob.dialogs, []);
});

for (const [device, viewport] of [['desktop', DESKTOP], ['phone', PHONE]]) {
  browserTest(`${device}: links, code, code blocks, emphasis and line breaks are drawn`, async ({stack, browser, pages}) => {
    const [alice, bob] = await logInAll({stack, browser, pages, viewport}, 'alice', 'bob');
    const text = 'see https://example.com/a_b?x=1, then *this* and **that**\n' +
                 'run `make test` twice\n```\nfor x in y:\n    print(x)\n```\nend';
    await say(alice, text);
    await waitForLines(bob, 1);
    const line = bob.locator('#message li:has-text("see https") .text');
    const link = line.locator('a');
    assert.equal(await link.getAttribute('href'), 'https://example.com/a_b?x=1');
    assert.equal(await link.textContent(), 'https://example.com/a_b?x=1');  // the comma stays out
    assert.equal(await link.getAttribute('rel'), 'noopener noreferrer');
    assert.equal(await link.getAttribute('target'), '_blank');
    assert.equal(await line.locator('em').textContent(), 'this');
    assert.equal(await line.locator('strong').textContent(), 'that');
    assert.equal(await line.locator(':scope > code').textContent(), 'make test');
    assert.equal(await line.locator('pre code').textContent(), 'for x in y:\n    print(x)');
    // A token longer than the line wraps instead of widening the page.
    const long = 'x'.repeat(400);
    await say(alice, long);
    await waitForLine(bob, long);
    assert.equal(await bob.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), true);
    // Two multi-line messages from one sender stay apart.
    await say(alice, 'first\nmessage');
    await say(alice, 'second\nmessage');
    await waitForLine(bob, 'second\nmessage');
    const items = await bob.$$eval('#message li[data-id]', (all) => all.slice(-2).map((i) => i.className));
    assert.ok(items.every((c) => c.includes('continued')), 'grouped under one name');
    const gap = await bob.$$eval('#message li[data-id]', (all) => {
      const [a, b] = all.slice(-2).map((i) => i.getBoundingClientRect());
      return b.top - a.bottom;
    });
    assert.ok(gap >= 4, `a visible gap between two multi-line messages (${gap}px)`);
  });
}
