// Shared by the browser tests: a real parley-broker and parley-frontend on ephemeral ports,
// Debian's Chromium driven by playwright-core, and a screenshot of every open page when a
// test fails. ctest passes the binaries and the artifacts directory in the environment.
import {spawn} from 'node:child_process';
import {mkdirSync} from 'node:fs';
import path from 'node:path';
import {test} from 'node:test';
import {chromium} from 'playwright-core';

const BROKER = process.env.PARLEY_BROKER_BINARY;
const FRONTEND = process.env.PARLEY_FRONTEND_BINARY;
export const ARTIFACTS = process.env.PARLEY_ARTIFACTS || path.resolve('browser-artifacts');
const CHROMIUM = process.env.PARLEY_CHROMIUM || '/usr/bin/chromium';

// A child program; `port` is the one it logged as "(port N)" once listening.
class Program {
  constructor(name, argv) {
    this.name = name;
    this.output = '';
    this.child = spawn(argv[0], argv.slice(1), {stdio: ['ignore', 'pipe', 'pipe']});
    this.exited = new Promise((resolve) => this.child.on('exit', resolve));
    this.port = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} did not listen:\n${this.output}`)),
                               15000);
      const read = (chunk) => {
        this.output += chunk;
        const match = /\(port (\d+)\)/.exec(this.output);
        if (match) {
          clearTimeout(timer);
          resolve(Number(match[1]));
        }
      };
      this.child.stdout.on('data', read);
      this.child.stderr.on('data', read);
      this.exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`${name} exited:\n${this.output}`));
      });
    });
    this.port.catch(() => {});
  }

  async stop() {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
    }
    await this.exited;
  }
}

// Broker and frontend; the broker can be stopped and started again on the same port.
export class Stack {
  static async start() {
    if (!BROKER || !FRONTEND) throw new Error('PARLEY_BROKER_BINARY and PARLEY_FRONTEND_BINARY');
    const stack = new Stack();
    await stack.startBroker('127.0.0.1:0');
    stack.frontend = new Program('frontend', [
      FRONTEND, '--listen=127.0.0.1:0', `--broker=127.0.0.1:${stack.brokerPort}`,
      '--broker_timeout=1s',
    ]);
    stack.url = `http://127.0.0.1:${await stack.frontend.port}`;
    return stack;
  }

  async startBroker(listen = `127.0.0.1:${this.brokerPort}`) {
    this.broker = new Program('broker', [BROKER, `--listen=${listen}`, '--threads=1',
                                         '--drain_delay=0s']);
    this.brokerPort = await this.broker.port;
  }

  async stopBroker() {
    await this.broker.stop();
  }

  async close() {
    await Promise.all([this.frontend && this.frontend.stop(), this.broker && this.broker.stop()]);
  }
}

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
  await page.waitForURL(`**/chatroom/${name}/`);
  await waitForStatus(page, 'connected');
  return page;
}

export async function waitForStatus(page, state, timeout = 15000) {
  await page.waitForSelector(`#status[data-state="${state}"]`, {timeout});
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

// test() with a stack and a browser, torn down afterwards; on failure every page the test
// opened (registered with `pages.push`) is saved as a screenshot in ARTIFACTS.
export function browserTest(name, body) {
  test(name, {timeout: 120000}, async () => {
    const stack = await Stack.start();
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
