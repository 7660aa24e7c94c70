// Shared by the browser tests: a real parley-broker and parley-frontend (lib/stack.mjs),
// Debian's Chromium driven by playwright-core, and a screenshot of every open page when a
// test fails. ctest passes the binaries and the artifacts directory in the environment.
import {createHmac} from 'node:crypto';
import {mkdirSync} from 'node:fs';
import path from 'node:path';
import {test} from 'node:test';
import {chromium} from 'playwright-core';

import {Stack} from '../lib/stack.mjs';

export {Stack};

export const ARTIFACTS = process.env.PARLEY_ARTIFACTS || path.resolve('browser-artifacts');
const CHROMIUM = process.env.PARLEY_CHROMIUM || '/usr/bin/chromium';

export async function launchChromium() {
  return chromium.launch({
    executablePath: CHROMIUM,
    // Root in CI containers cannot use Chromium's sandbox.
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
           '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

// One person in their own browser context (own cookies), logged in and connected. Dialogs
// and console errors are recorded (an XSS would open a dialog).
export async function logIn(browser, stack, name, {viewport} = {}) {
  const context = await browser.newContext({viewport: viewport || {width: 1200, height: 800}});
  const page = await context.newPage();
  page.dialogs = [];
  page.consoleErrors = [];
  page.on('dialog', (dialog) => {
    page.dialogs.push(dialog.message());
    dialog.dismiss().catch(() => {});
  });
  page.on('console', (message) => {
    if (message.type() === 'error') page.consoleErrors.push(message.text());
  });
  await page.goto(`${stack.url}/login`);
  await page.fill('#name', name);
  await page.press('#name', 'Enter');
  try {
    await page.waitForURL(`**/chatroom/${name}/`);
  } catch (error) {
    // Say what the login page said (a refused login stays on it with its reason).
    const said = await page.textContent('#error', {timeout: 1000}).catch(() => '(no login error shown)');
    throw new Error(`${name} did not get into the chat (at ${page.url()}): ${said}`,
                    {cause: error});
  }
  await waitForStatus(page, 'connected');
  return page;
}

// A phone's viewport (the layout folds the sidebar behind ☰ below 700 px).
export const PHONE = {width: 390, height: 844};
export const DESKTOP = {width: 1200, height: 800};

// Logs in each name in its own context and registers the pages for failure screenshots.
export async function logInAll({stack, browser, pages, viewport}, ...names) {
  const opened = [];
  for (const name of names) opened.push(await logIn(browser, stack, name, {viewport}));
  pages.push(...opened);
  return opened;
}

// Joins (or creates) `room` from the sidebar form and waits until it is the open one.
export async function joinRoom(page, room) {
  await page.fill('#join-name', room);
  await page.press('#join-name', 'Enter');
  await page.waitForSelector(`#title:has-text("#${room}")`);
  await page.waitForSelector(`#rooms button[data-key="#${room}"][aria-current="true"]`);
}

export async function waitForStatus(page, state, timeout = 15000) {
  try {
    await page.waitForSelector(`#status[data-state="${state}"]`, {timeout});
  } catch (error) {
    // Say what the page showed instead: its state, and the lines still waiting to be sent.
    const seen = await page.evaluate(() => ({
      status: document.getElementById('status')?.dataset.state,
      url: location.pathname,
      pending: [...document.querySelectorAll('#message li.pending, #message li.retrying')]
                   .map((li) => li.textContent),
      composer: document.getElementById('post')?.value,
    })).catch((e) => `(page not readable: ${e.message})`);
    throw new Error(`status never became ${state}: ${JSON.stringify(seen)}`, {cause: error});
  }
}

// Sends `text` in the open conversation the way a person does: type, Enter.
export async function say(page, text) {
  await page.fill('#post', text);
  await page.press('#post', 'Enter');
}

// The texts of the chat lines (not notices) on screen.
export async function lines(page) {
  return page.$$eval('#message li:not(.notice) .text', (items) => items.map((i) => i.textContent));
}

// Waits until a chat line with exactly `text` is on screen (and sent, not pending).
export async function waitForLine(page, text, timeout = 10000) {
  await page.waitForFunction((wanted) => [...document.querySelectorAll('#message li:not(.pending) .text')]
      .some((item) => item.textContent === wanted), text, {timeout});
}

// Another user, through the JSON API as another browser would: answers the session token.
export async function logInOverApi(stack, name) {
  const response = await fetch(`${stack.url}/api/session`, {
    method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify({name}),
  });
  if (response.status !== 200) throw new Error(`${name}: ${response.status} ${await response.text()}`);
  return (await response.json()).token;
}

// One JSON API call as the user of `token`; answers the parsed body, throws unless 2xx.
export async function apiCall(stack, token, method, path, body) {
  const response = await fetch(`${stack.url}${path}`, {
    method,
    headers: {Authorization: `Bearer ${token}`, ...(body ? {'Content-Type': 'application/json'} : {})},
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return JSON.parse(text || '{}');
}

let clientIds = 0;
// Publishes `text` to {room} or {to} as the user of `token`.
export function apiSay(stack, token, target, text) {
  clientIds += 1;
  return apiCall(stack, token, 'POST', '/api/messages', {...target, text, clientId: `t-${clientIds}`});
}

// Opens the sidebar on a phone (it is always shown on a desktop).
export async function openSidebar(page) {
  if ((page.viewportSize() || DESKTOP).width < 700 &&
      !(await page.evaluate(() => document.body.classList.contains('sidebar-open')))) {
    await page.click('#menu');
    // The sidebar slides in (0.15 s): clicks land once it is in place.
    await page.waitForFunction(() => document.getElementById('sidebar').getBoundingClientRect().left >= 0);
  }
}

// Opens the direct conversation with `name` through "Message someone by name" (the sidebar
// opened first on a phone), and waits until it is the open one.
export async function writeTo(page, name) {
  await openSidebar(page);
  await page.fill('#dm-name', name);
  await page.press('#dm-name', 'Enter');
  await page.waitForSelector(`#title:text-is("@${name}")`);
}

// An app's token for `sub` (HS256 with `secret`, an hour long), as an app's backend signs one
// (docs/embedding.md).
export function appToken(secret, sub) {
  const part = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const signed = `${part({alg: 'HS256', typ: 'JWT'})}.${part({sub, exp: Math.floor(Date.now() / 1000) + 3600})}`;
  return `${signed}.${createHmac('sha256', secret).update(signed).digest('base64url')}`;
}

// A page signed in by an app's token (GET /login?token=), connected.
export async function logInWithToken(browser, stack, token, {viewport} = {}) {
  const page = await (await browser.newContext({viewport: viewport || DESKTOP})).newPage();
  page.dialogs = [];
  await page.goto(`${stack.url}/login?token=${token}`);
  await page.waitForURL('**/chatroom/**', {timeout: 15000});
  await waitForStatus(page, 'connected');
  return page;
}

// Waits until at least `count` chat lines (sent, not pending) are on screen: for lines whose
// text is drawn with formatting, so their textContent is not the text sent.
export async function waitForLines(page, count, timeout = 10000) {
  await page.waitForFunction((n) => document.querySelectorAll('#message li:not(.pending) .text').length >= n,
                             count, {timeout});
}

// test() with a stack and a browser, torn down afterwards; on failure every page the test
// opened (registered with `pages.push`) is saved as a screenshot in ARTIFACTS. `options`
// go to Stack.start.
export function browserTest(name, body, options = {}) {
  test(name, {timeout: 120000}, async () => {
    const stack = await Stack.start(options);
    const browser = await launchChromium();
    const pages = [];
    try {
      await body({stack, browser, pages});
    } catch (error) {
      mkdirSync(ARTIFACTS, {recursive: true});
      const slug = name.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
      for (const [index, page] of pages.entries()) {
        await page.screenshot({path: path.join(ARTIFACTS, `failed-${slug}-${index}.png`)})
            .catch(() => {});
      }
      error.message += `\n(screenshots in ${ARTIFACTS}; frontend log:\n${stack.frontend.output.slice(-2000)})`;
      throw error;
    } finally {
      await browser.close().catch(() => {});
      await stack.close();
    }
  });
}
