// The page recovers by itself: a broker restart, and a network cut while sending.
import assert from 'node:assert/strict';

import {browserTest, DESKTOP, lines, logInAll, PHONE, say, waitForLine, waitForStatus} from './harness.mjs';

// Every chat line and notice on screen is shown once.
async function assertNoDuplicates(page) {
  const ids = await page.$$eval('#message li[data-id]', (items) => items.map((i) => i.dataset.id));
  assert.equal(new Set(ids).size, ids.length, `duplicate lines: ${ids}`);
}

// SIGKILLs the broker, waits until every page says it is reconnecting, starts the broker again
// and waits until every page is connected.
async function crashBrokerAndWaitForReconnect(stack, pages) {
  await stack.killBroker();
  for (const page of pages) await waitForStatus(page, 'reconnecting');
  await stack.startBroker();
  for (const page of pages) await waitForStatus(page, 'connected', 30000);
}

browserTest('a broker crash shows reconnecting, then what was lost, then chat works again with no duplicates', async ({stack, browser, pages}) => {
  const [alice, bob] = await logInAll({stack, browser, pages}, 'alice', 'bob');
  await say(alice, 'before the restart');
  await waitForLine(bob, 'before the restart');

  await crashBrokerAndWaitForReconnect(stack, [alice, bob]);
  await alice.waitForSelector('#banner:not([hidden]) :text("restarted and lost")');
  // What was on screen stays, and a line marks where messages may be missing.
  for (const page of [alice, bob]) {
    await page.waitForSelector('#message li.notice:text("restarted here")');
    const shown = await lines(page);
    assert.ok(shown.includes('before the restart'), `kept: ${shown}`);
  }

  await say(alice, 'after the restart');
  await waitForLine(bob, 'after the restart');
  await say(bob, 'welcome back');
  await waitForLine(alice, 'welcome back');
  for (const page of [alice, bob]) {
    await assertNoDuplicates(page);
    const shown = await lines(page);
    assert.equal(shown.filter((t) => t === 'after the restart').length, 1);
  }
});

browserTest('with the Redis store a broker crash loses nothing: no gap banner, every line kept, chat goes on', async ({stack, browser, pages}) => {
  const [alice, bob] = await logInAll({stack, browser, pages}, 'alice', 'bob');
  await say(alice, 'before the restart');
  await waitForLine(bob, 'before the restart');

  // bob stops reading: his next polls are held in the browser, so what alice says next waits
  // in his queue, unread, when the broker dies.
  const held = [];
  await bob.route('**/api/poll*', (route) => { held.push(route); });
  await say(alice, 'the poll in flight takes this one');
  await waitForLine(bob, 'the poll in flight takes this one');
  while (held.length === 0) await bob.waitForTimeout(20);
  for (const text of ['queued one', 'queued two']) {
    await say(alice, text);
    await waitForLine(alice, text);  // stored: alice's own poll brought it back
  }
  await stack.killBroker();
  await waitForStatus(alice, 'reconnecting');
  await stack.startBroker();
  await waitForStatus(alice, 'connected', 30000);
  // bob reads again, from a broker that never saw his queue.
  await bob.unroute('**/api/poll*');
  // (A held poll the page gave up on meanwhile cannot go on; the page sent another.)
  for (const route of held) await route.continue().catch(() => {});
  await waitForLine(bob, 'queued one', 30000);
  await waitForLine(bob, 'queued two');
  await waitForStatus(bob, 'connected', 30000);

  await say(alice, 'after the restart');
  await waitForLine(bob, 'after the restart');
  await say(bob, 'welcome back');
  await waitForLine(alice, 'welcome back');
  // Same epochs, same cursors: the pages never saw a gap.
  for (const page of [alice, bob]) {
    assert.equal(await page.$eval('#banner', (banner) => banner.hidden), true, 'no banner');
    const notices = await page.$$eval('#message li.notice', (items) => items.map((i) => i.textContent));
    assert.ok(!notices.some((text) => text.includes('restarted')), `no restart notice: ${notices}`);
    await assertNoDuplicates(page);
    const shown = await lines(page);
    for (const text of ['before the restart', 'queued one', 'queued two', 'after the restart']) {
      assert.equal(shown.filter((t) => t === text).length, 1, `${text} once: ${shown}`);
    }
  }
}, {redis: true});

browserTest('lines typed quickly arrive in the order they were written, even when the first is slow to send', async ({stack, browser, pages}) => {
  const [alice, bob] = await logInAll({stack, browser, pages}, 'alice', 'bob');
  // The first send takes a second to get out; the others would overtake it if sent at once.
  let sends = 0;
  await alice.route('**/api/messages', async (route) => {
    sends += 1;
    if (sends === 1) await new Promise((resolve) => setTimeout(resolve, 1000));
    await route.continue();
  });
  for (const text of ['one', 'two', 'three']) await say(alice, text);
  await waitForLine(bob, 'three');
  for (const page of [alice, bob]) assert.deepEqual(await lines(page), ['one', 'two', 'three']);
  await alice.unroute('**/api/messages');
});

browserTest('a message sent while the network is cut arrives exactly once', async ({stack, browser, pages}) => {
  const [alice, bob] = await logInAll({stack, browser, pages}, 'alice', 'bob');

  // The cut: the first attempt reaches the server but its answer is lost on the way back
  // (the worst case for duplicates), later attempts do not get out at all.
  let attempts = 0;
  await alice.route('**/api/messages', async (route) => {
    attempts += 1;
    if (attempts === 1) await route.fetch();
    await route.abort('internetdisconnected');
  });
  await say(alice, 'sent through the storm');
  await alice.waitForSelector('#message li.pending:has-text("sent through the storm")');
  while (attempts < 2) await alice.waitForTimeout(100);

  await alice.unroute('**/api/messages');
  await waitForLine(alice, 'sent through the storm', 20000);
  await waitForLine(bob, 'sent through the storm');
  await alice.waitForSelector('#message li.pending', {state: 'detached'});

  // Let any late duplicate arrive before counting: one more line goes through behind it.
  await say(alice, 'and this one');
  await waitForLine(bob, 'and this one');
  for (const page of [alice, bob]) {
    assert.deepEqual(await lines(page), ['sent through the storm', 'and this one']);
    await assertNoDuplicates(page);
  }
  assert.ok(attempts >= 2, `retried (${attempts} attempts)`);
});

browserTest('a send answered 429 or 503 is retried, no sooner than its Retry-After, and arrives once', async ({stack, browser, pages}) => {
  const [alice, bob] = await logInAll({stack, browser, pages}, 'alice', 'bob');
  for (const [status, retryAfter] of [[429, 1], [503, 2]]) {
    const text = `through a ${status}`;
    const attempts = [];
    await alice.route('**/api/messages', async (route) => {
      attempts.push(Date.now());
      if (attempts.length === 1) {
        await route.fulfill({status, headers: {'Retry-After': String(retryAfter)},
                             contentType: 'application/json',
                             body: JSON.stringify({error: {code: 'busy', message: 'busy'}})});
      } else {
        await route.continue();
      }
    });
    await say(alice, text);
    await alice.waitForSelector(`#message li.pending:has-text("${text}")`);
    await waitForLine(bob, text, 20000);
    await alice.unroute('**/api/messages');
    assert.equal(attempts.length, 2, `${status}: one retry`);
    assert.ok(attempts[1] - attempts[0] >= retryAfter * 1000 - 50,
              `${status}: retried after ${attempts[1] - attempts[0]} ms, Retry-After ${retryAfter} s`);
  }
  await say(alice, 'last');
  await waitForLine(bob, 'last');
  for (const text of ['through a 429', 'through a 503']) {
    assert.equal((await lines(bob)).filter((t) => t === text).length, 1, `${text} once`);
  }
});

// A frozen broker answers nothing: the page must not stay "connected" while a line waits. On
// a desktop and on a phone. The broker is frozen where the frontend meets it (a link that
// forwards nothing, connections left open): what a hung broker looks like from outside, and
// unlike a SIGSTOP it cannot be woken by anything else on the machine.
for (const [device, viewport] of [['desktop', DESKTOP], ['phone', PHONE]]) {
  browserTest(`${device}: a frozen broker shows reconnecting within seconds while a line waits, then connected`, async ({stack, browser, pages}) => {
    const [alice, bob] = await logInAll({stack, browser, pages, viewport}, 'alice', 'bob');
    stack.brokerLink.freeze();
    try {
      await say(alice, 'during the freeze');
      await alice.waitForSelector('#message li.pending:has-text("during the freeze")');
      // Well before the long poll's 25 s wait could end and tell it.
      await waitForStatus(alice, 'reconnecting', 10000);
      assert.equal(await alice.textContent('#status'), 'reconnecting…');
      assert.equal((await lines(bob)).filter((t) => t === 'during the freeze').length, 0);
    } finally {
      stack.brokerLink.thaw();
    }
    await waitForLine(bob, 'during the freeze', 20000);
    await waitForStatus(alice, 'connected', 20000);
    assert.equal((await lines(alice)).filter((t) => t === 'during the freeze').length, 1);
  }, {freezableBroker: true});
}

browserTest('messages lost to a full queue while away show the missed-messages notice', async ({stack, browser, pages}) => {
  const [alice, bob] = await logInAll({stack, browser, pages}, 'alice', 'bob');
  // bob stops reading (his polls held in the browser) while alice says more than his queue
  // holds (--queue_capacity=5): his next answer has a gap.
  const held = [];
  await bob.route('**/api/poll*', (route) => { held.push(route); });
  await say(alice, 'the poll in flight takes this one');
  await waitForLine(bob, 'the poll in flight takes this one');
  while (held.length === 0) await bob.waitForTimeout(20);
  for (let i = 1; i <= 8; i += 1) {
    await say(alice, `while away ${i}`);
    await waitForLine(alice, `while away ${i}`);
  }
  await bob.unroute('**/api/poll*');
  for (const route of held) await route.continue().catch(() => {});
  await waitForLine(bob, 'while away 8', 20000);
  await bob.waitForSelector('#banner:not([hidden]) :text("Some messages were missed")');
}, {brokerFlags: ['--queue_capacity=5', '--publish_burst=100']});
