// The deploy files on a real Docker engine, as an operator runs them: Debian's dockerd (no
// image registry is reachable, so debian:bookworm is a `debootstrap --variant=minbase` root
// imported with `docker import`, and redis:7.0.15 a stand-in built like the official image,
// redis-standin/), both images built from deploy/docker/Dockerfile, then each compose file
// brought up: people chat in Chromium, and with Redis a killed broker container and a
// restarted Redis lose nothing.
//
// Run by `make test-deploy` (as root; some ten minutes on two cores, most of it building the
// images), not by `make test`. The engine keeps its state (base image, build cache) in
// $PARLEY_DEPLOY_DIR, build-deploy/ by default, so later runs take a minute or two.
import assert from 'node:assert/strict';
import {spawn, spawnSync} from 'node:child_process';
import {existsSync, mkdirSync, openSync} from 'node:fs';
import path from 'node:path';
import {after, before, test} from 'node:test';
import {fileURLToPath} from 'node:url';

import {launchChromium, logIn, say, waitForLine} from '../browser/harness.mjs';
import {freePort} from '../lib/stack.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const DIR = path.resolve(process.env.PARLEY_DEPLOY_DIR || path.join(ROOT, 'build-deploy'));
const SOCKET = path.join(DIR, 'docker.sock');
const PROJECT = 'parley-engine-test';
const DEFAULT_FILES = ['-f', 'docker-compose.yml'];
const REDIS_FILES = [...DEFAULT_FILES, '-f', 'deploy/compose/redis.yml'];
const env = {...process.env, DOCKER_HOST: `unix://${SOCKET}`};

// Runs a command to its end; its stdout, or an error with the end of its stderr.
function run(command, args, {extraEnv = {}, timeout = 1800000} = {}) {
  const result = spawnSync(command, args, {cwd: ROOT, env: {...env, ...extraEnv}, encoding: 'utf8',
                                           timeout, maxBuffer: 256 << 20});
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} (${result.status ?? result.signal}):\n` +
                    `${(result.stderr || result.stdout || '').slice(-4000)}`);
  }
  return result.stdout;
}
const docker = (...args) => run('docker', args);
const compose = (files, args, extraEnv = {}) =>
  run('docker-compose', ['-p', PROJECT, ...files, ...args], {extraEnv});
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(what, condition, timeoutMs) {
  const giveUp = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > giveUp) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await sleep(250);
  }
}

let dockerd = null;

before(async () => {
  mkdirSync(DIR, {recursive: true});
  if (spawnSync('docker', ['info'], {env}).status !== 0) {
    const log = openSync(path.join(DIR, 'dockerd.log'), 'a');
    dockerd = spawn('dockerd', [
      '--iptables=false', '--ip6tables=false', '--bridge=none', '--storage-driver=vfs',
      `--data-root=${path.join(DIR, 'data')}`, `--exec-root=${path.join(DIR, 'exec')}`,
      `--pidfile=${path.join(DIR, 'docker.pid')}`, '-H', `unix://${SOCKET}`,
    ], {stdio: ['ignore', log, log]});
    await waitFor('dockerd answers', () => spawnSync('docker', ['info'], {env}).status === 0, 60000);
  }
  if (spawnSync('docker', ['image', 'inspect', 'debian:bookworm'], {env}).status !== 0) {
    const rootfs = path.join(DIR, 'rootfs');
    if (!existsSync(path.join(rootfs, 'etc/debian_version'))) {
      run('debootstrap', ['--variant=minbase', 'bookworm', rootfs, 'http://deb.debian.org/debian']);
    }
    run('sh', ['-c', `tar -C '${rootfs}' -c . | docker import - debian:bookworm`]);
  }
  // The runtime stage's base: slim is minbase less documentation, the same for our purpose.
  docker('tag', 'debian:bookworm', 'debian:bookworm-slim');
  docker('build', '--network', 'host', '-t', 'redis:7.0.15', path.join(ROOT, 'tests/js/deploy/redis-standin'));
  for (const target of ['broker', 'frontend']) {
    docker('build', '--network', 'host', '-f', 'deploy/docker/Dockerfile', '--target', target,
           '-t', `parley-${target}:local`, '.');
  }
});

after(async () => {
  spawnSync('docker-compose', ['-p', PROJECT, ...REDIS_FILES, 'down', '-v', '--timeout', '5'],
            {cwd: ROOT, env});
  if (dockerd) {
    dockerd.kill('SIGTERM');
    await new Promise((resolve) => dockerd.once('exit', resolve));
  }
});

// Brings the files up on a free port and waits until the frontend is ready.
async function up(files) {
  const port = await freePort();
  compose(files, ['up', '-d', '--no-build'], {PARLEY_PORT: String(port)});
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${url}/readyz`, async () => {
    try {
      return (await fetch(`${url}/readyz`)).status === 200;
    } catch {
      return false;
    }
  }, 120000);
  return url;
}

// Two people chat in Chromium.
async function chatInChromium(url) {
  const browser = await launchChromium();
  try {
    const alice = await logIn(browser, {url}, 'alice');
    const bob = await logIn(browser, {url}, 'bob');
    await say(alice, 'hello from a container');
    await waitForLine(bob, 'hello from a container');
  } finally {
    await browser.close();
  }
}

const containerOf = (files, service) => compose(files, ['ps', '-q', service]).trim().split('\n')[0];

test('docker compose up: the images build, the secrets are made, and the page chats in Chromium', {timeout: 600000}, async () => {
  const url = await up(DEFAULT_FILES);
  await chatInChromium(url);
  // Made on the first start, readable only by the services that use them.
  const made = docker('run', '--rm', '-v', `${PROJECT}_parley-secrets:/s`, 'debian:bookworm',
                      'sh', '-c', 'stat -c "%n %a %u %g %s" /s/*');
  assert.match(made, /^\/s\/redis-password 440 10001 999 64$/m);
  assert.match(made, /^\/s\/session-secret 400 10001 10001 64$/m);
  compose(DEFAULT_FILES, ['down', '--timeout', '5']);
});

test('with Redis: brokers share it, a killed broker container and a restarted Redis lose nothing', {timeout: 900000}, async () => {
  const url = await up(REDIS_FILES);
  await chatInChromium(url);
  const redis = containerOf(REDIS_FILES, 'redis');
  assert.equal(docker('exec', redis, 'id', '-u').trim(), '999', 'Redis runs as the image\'s redis user');

  const logIn = async (name) => {
    const answer = await fetch(`${url}/api/session`, {
      method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify({name}),
    });
    assert.equal(answer.status, 200, await answer.clone().text());
    return answer.json();
  };
  const carol = await logIn('carol');
  const dave = await logIn('dave');
  // Sent until accepted: a 503 while a broker or Redis is away is retried with the same
  // clientId, so a send that did land is not stored twice.
  const send = async (text) => {
    for (let tries = 0; ; tries += 1) {
      try {
        const answer = await fetch(`${url}/api/messages`, {
          method: 'POST',
          headers: {'Content-Type': 'application/json', Authorization: `Bearer ${carol.token}`},
          body: JSON.stringify({to: 'dave', text, clientId: text}),
        });
        if (answer.status === 200) return;
        assert.ok([429, 503].includes(answer.status), `${text}: ${answer.status} ${await answer.text()}`);
      } catch (error) {
        if (error.code === 'ERR_ASSERTION') throw error;
      }
      assert.ok(tries < 240, `${text} was never accepted`);
      await sleep(500);
    }
  };
  const texts = Array.from({length: 15}, (_, i) => `durable-${i}`);
  for (const text of texts.slice(0, 5)) await send(text);
  docker('kill', containerOf(REDIS_FILES, 'broker'));
  for (const text of texts.slice(5, 10)) await send(text);
  docker('restart', redis);
  for (const text of texts.slice(10)) await send(text);

  const received = [];
  let cursor = dave.cursor;
  await waitFor('dave receives every line', async () => {
    const answer = await fetch(`${url}/api/poll?wait=1&cursor=${cursor}&epoch=${dave.epoch}`,
                               {headers: {Authorization: `Bearer ${dave.token}`}});
    if (answer.status !== 200) return false;
    const polled = await answer.json();
    assert.equal(polled.gap, false, 'no line was dropped');
    received.push(...polled.messages.filter((m) => m.from === 'carol').map((m) => m.text));
    cursor = polled.cursor;
    return received.length >= texts.length;
  }, 120000);
  assert.deepEqual(received, texts);
  compose(REDIS_FILES, ['down', '-v', '--timeout', '5']);
});
