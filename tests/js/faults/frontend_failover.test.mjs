// A frontend dies (SIGKILL) while its clients' long polls are held: with two frontends
// behind a round-robin proxy (Debian's nginx, started here on loopback), every client goes on
// through the other one from its cursor and gets every message exactly once, in order.
import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import {mkdtempSync, writeFileSync, rmSync} from 'node:fs';
import net from 'node:net';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {test} from 'node:test';

import {BROKER, FRONTEND, Program} from '../lib/stack.mjs';

const CLIENTS = 30;
const MESSAGES = 60;
const SECRET = 'failover-test-secret-0123456789';

async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const {port} = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitFor(condition, what, timeoutMs = 20000) {
  const giveUp = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > giveUp) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

// nginx in the foreground with a config of our own: round-robin over the frontends, HTTP/1.1
// keep-alive upstream, long read timeout for the held polls. `retry`: nginx re-sends a request
// whose upstream failed before answering to the next one (its default); without it the
// client gets the 502 and must retry by itself.
function startNginx(dir, port, upstreams, retry) {
  const config = `
daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  upstream parley {
    ${upstreams.map((p) => `server 127.0.0.1:${p};`).join('\n    ')}
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://parley;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_read_timeout 60s;
      proxy_next_upstream ${retry ? 'error timeout' : 'off'};
    }
  }
}`;
  writeFileSync(path.join(dir, 'nginx.conf'), config);
  const child = spawn('/usr/sbin/nginx', ['-p', dir, '-e', path.join(dir, 'error.log'), '-c',
                                          path.join(dir, 'nginx.conf')],
                      {stdio: ['ignore', 'inherit', 'inherit']});
  const exited = new Promise((resolve) => child.on('exit', resolve));
  return {child, exited};
}

async function json(response) {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`not JSON (${response.status}): ${text}`);
  }
}

// What a client may see while a frontend dies: the proxy's 502/503/504 (its own page, not
// JSON), or the connection cut (fetch's TypeError). Anything else is a failure of the test.
const GATEWAY_STATUSES = new Set([502, 503, 504]);
class Cut extends Error {}

function expectCut(error) {
  if (error instanceof Cut) return;
  if (error instanceof TypeError && error.message === 'fetch failed') return;
  throw error;
}

async function heldPolls(port) {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  const match = /^parley_frontend_held_polls (\d+)/m.exec(await response.text());
  return match ? Number(match[1]) : 0;
}

// One chat user: logs in, then long-polls from its cursor for as long as `running`,
// retrying from the same cursor after any failure (as the page's poller does).
class Client {
  constructor(base, name) {
    this.base = base;
    this.name = name;
    this.chat = [];       // the sender's lines, in the order they came
    this.failures = 0;    // polls answered with an error or cut off
  }

  async logIn() {
    const response = await fetch(`${this.base}/api/session`, {
      method: 'POST', headers: {'Content-Type': 'application/json'},
      body: JSON.stringify({name: this.name}),
    });
    assert.equal(response.status, 200, `${this.name} logged in`);
    const session = await json(response);
    this.token = session.token;
    this.cursor = session.cursor;
    this.epoch = session.epoch;
  }

  async pollForever(isRunning) {
    while (isRunning()) {
      try {
        const response = await fetch(
            `${this.base}/api/poll?cursor=${this.cursor}&epoch=${this.epoch}&wait=20`,
            {headers: {Authorization: `Bearer ${this.token}`}});
        if (GATEWAY_STATUSES.has(response.status)) {
          throw new Cut(`${response.status} ${await response.text()}`);
        }
        const body = await json(response);
        assert.equal(response.status, 200, `${this.name}'s poll: ${JSON.stringify(body)}`);
        assert.equal(body.gap, false, `${this.name} was told it missed messages`);
        for (const message of body.messages) {
          if (message.kind === 'CHAT' && message.from === 'sender') {
            this.chat.push(message);
          }
        }
        this.cursor = body.cursor;
        this.epoch = body.epoch;
      } catch (error) {
        if (!isRunning()) return;  // the test is over and cut the polls itself
        try {
          expectCut(error);
        } catch (unexpected) {
          this.error = unexpected;
          throw unexpected;
        }
        this.failures += 1;
        this.lastError = String(error.message);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }
}

// Sends one message, retrying with the same clientId until it is stored.
async function send(base, token, n) {
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      const response = await fetch(`${base}/api/messages`, {
        method: 'POST',
        headers: {'Content-Type': 'application/json', Authorization: `Bearer ${token}`},
        body: JSON.stringify({room: 'lobby', text: `line ${n}`, clientId: `line-${n}`}),
      });
      if (response.status === 200) return;
      const text = await response.text();
      if (!GATEWAY_STATUSES.has(response.status)) {
        throw new Error(`line ${n} refused: ${response.status} ${text}`);
      }
    } catch (error) {
      expectCut(error);  // the frontend that had this connection died; the next try goes on
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`line ${n} could not be sent`);
}

async function failover({proxyRetries}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'parley-failover-'));
  const programs = [];
  let nginx;
  let running = true;
  try {
    const broker = new Program('broker', [BROKER, '--listen=127.0.0.1:0', '--threads=1',
                                          '--publish_rate=1000', '--publish_burst=1000']);
    programs.push(broker);
    const brokerPort = await broker.port;
    const frontends = [0, 1].map((i) => new Program(`frontend${i}`, [
      FRONTEND, '--listen=127.0.0.1:0', `--broker=127.0.0.1:${brokerPort}`,
      '--login_burst=1000', '--login_rate_per_minute=100000',
    ], {env: {PARLEY_SESSION_SECRET: SECRET}}));
    programs.push(...frontends);
    const ports = await Promise.all(frontends.map((f) => f.port));
    const proxyPort = await freePort();
    nginx = startNginx(dir, proxyPort, ports, proxyRetries);
    const base = `http://127.0.0.1:${proxyPort}`;
    await waitFor(async () => {
      try {
        return (await fetch(`${base}/healthz`)).status === 200;
      } catch {
        return false;
      }
    }, 'nginx to proxy');

    const clients = Array.from({length: CLIENTS}, (_, i) => new Client(base, `user${i}`));
    for (const client of clients) await client.logIn();
    const sender = new Client(base, 'sender');
    await sender.logIn();
    const polling = clients.map((client) => client.pollForever(() => running));
    polling.forEach((p) => p.catch(() => {}));  // a failed client is reported by the waits
    // A client that met an unexpected error fails the wait at once, not at its timeout.
    const clientsHave = (done) => () => {
      const broken = clients.find((c) => c.error);
      if (broken) throw broken.error;
      return done();
    };

    for (let n = 0; n < MESSAGES / 2; n++) await send(base, sender.token, n);
    // Every client has the first half and is parked again, spread over both frontends.
    await waitFor(clientsHave(async () => clients.every((c) => c.chat.length === MESSAGES / 2) &&
                              (await heldPolls(ports[0])) + (await heldPolls(ports[1])) ===
                                  CLIENTS),
                  'every poll to be held');
    const onVictim = await heldPolls(ports[0]);
    assert.ok(onVictim > 0, 'the frontend to be killed holds some of the polls');
    await frontends[0].kill();
    for (let n = MESSAGES / 2; n < MESSAGES; n++) await send(base, sender.token, n);

    await waitFor(clientsHave(() => clients.every((c) => c.chat.length >= MESSAGES)),
                  'every client to have every line', 60000)
        .catch((error) => {
          error.message += `: ${clients.map((c) => `${c.name} ${c.chat.length} (${c.failures} ` +
                                         `failures, last ${c.lastError})`).join(', ')}`;
          throw error;
        });
    running = false;
    for (const client of clients) {
      const texts = client.chat.map((m) => m.text);
      assert.deepEqual(texts, Array.from({length: MESSAGES}, (_, n) => `line ${n}`),
                       `${client.name} got each line once, in order`);
      assert.equal(new Set(client.chat.map((m) => m.id)).size, MESSAGES);
      const seqs = client.chat.map((m) => Number(m.seq));
      assert.ok(seqs.every((s, i) => i === 0 || s > seqs[i - 1]), `${client.name} seq order`);
    }
    // The survivor now holds every poll (they were re-sent to it after the kill).
    await waitFor(async () => (await heldPolls(ports[1])) === CLIENTS, 'the survivor to hold all');
    // nginx re-sends a GET whose upstream died before answering, so most clients never see
    // the kill; the ones that do retry from their cursor.
    const retries = clients.reduce((sum, c) => sum + c.failures, 0);
    console.log(`proxy retries ${proxyRetries ? 'on' : 'off'}: polls held on the killed ` +
                `frontend: ${onVictim}/${CLIENTS}; client retries: ${retries}`);
    // Without the proxy's help, every client whose poll was on the killed frontend saw an
    // error and came back by itself; with it, the proxy re-sent them, so fewer failed than
    // were cut (none, in every run here).
    if (proxyRetries) {
      assert.ok(retries < onVictim, `${retries} client retries for ${onVictim} cut polls`);
    } else {
      assert.ok(retries >= onVictim, `${retries} retries for ${onVictim} cut polls`);
    }
    running = false;
    nginx.child.kill('SIGTERM');  // ends the held polls, and with them the client loops
    await Promise.all(polling);
  } finally {
    running = false;
    if (nginx) {
      nginx.child.kill('SIGTERM');
      await nginx.exited;
    }
    await Promise.all(programs.map((p) => p.stop()));
    rmSync(dir, {recursive: true, force: true});
  }
}

test('clients of a killed frontend continue through the other one (the proxy re-sends their ' +
     'polls), nothing lost or doubled', {timeout: 120000}, () => failover({proxyRetries: true}));

test('clients of a killed frontend retry through the other one by themselves, nothing lost ' +
     'or doubled', {timeout: 120000}, () => failover({proxyRetries: false}));
