// The real programs for the JavaScript tests: parley-broker and parley-frontend on ephemeral
// ports (the paths come from ctest's environment), read back from their "port=N" log lines.
import {spawn} from 'node:child_process';
import {mkdtempSync, rmSync} from 'node:fs';
import net from 'node:net';
import {tmpdir} from 'node:os';
import path from 'node:path';

export const BROKER = process.env.PARLEY_BROKER_BINARY;
export const FRONTEND = process.env.PARLEY_FRONTEND_BINARY;

// A child program; `port` is the one it logged as "port=N" once listening. `env` adds to
// this process's environment.
export class Program {
  constructor(name, argv, {env = {}} = {}) {
    this.name = name;
    this.output = '';
    this.child = spawn(argv[0], argv.slice(1), {stdio: ['ignore', 'pipe', 'pipe'],
                                                env: {...process.env, ...env}});
    this.exited = new Promise((resolve) => this.child.on('exit', resolve));
    this.port = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} did not listen:\n${this.output}`)),
                               15000);
      const read = (chunk) => {
        this.output += chunk;
        const match = / port=(\d+)/.exec(this.output);
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

  // SIGKILL: the program dies at once, as in a crash.
  async kill() {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  // SIGTERM, then waits for the exit; a program still running after `graceMs` is killed
  // and reported (a graceful stop that hangs is a bug worth failing on).
  async stop(graceMs = 15000) {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    let timer;
    const hung = new Promise((resolve) => { timer = setTimeout(() => resolve(true), graceMs); });
    const stuck = await Promise.race([this.exited.then(() => false), hung]);
    clearTimeout(timer);
    if (stuck) {
      this.child.kill('SIGKILL');
      await this.exited;
      throw new Error(`${this.name} did not exit within ${graceMs} ms of SIGTERM:\n${this.output}`);
    }
  }
}

// A loopback TCP relay to `targetPort` that can be frozen: while frozen it forwards nothing
// either way and leaves every connection open, as a broker that stopped answering (hung, or
// cut off by the network) looks to its clients: no reset, no answer, keepalive pings
// unanswered. Connections opened while frozen wait too.
export class FreezableLink {
  static async start(targetPort) {
    const link = new FreezableLink();
    link.frozen = false;
    link.sockets = new Set();
    link.server = net.createServer((client) => link.relay(client, targetPort));
    await new Promise((resolve) => link.server.listen(0, '127.0.0.1', resolve));
    link.port = link.server.address().port;
    return link;
  }

  relay(client, targetPort) {
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const [from, to] of [[client, upstream], [upstream, client]]) {
      this.sockets.add(from);
      from.on('data', (chunk) => to.write(chunk));
      from.on('end', () => to.end());
      from.on('error', () => to.destroy());
      from.on('close', () => { this.sockets.delete(from); to.destroy(); });
      if (this.frozen) from.pause();
    }
  }

  freeze() {
    this.frozen = true;
    for (const socket of this.sockets) socket.pause();
  }

  thaw() {
    this.frozen = false;
    for (const socket of this.sockets) socket.resume();
  }

  async close() {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

// A free loopback port (the OS picks one; it is free again once the probe closes).
export async function freePort() {
  const probe = net.createServer();
  await new Promise((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const {port} = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

// Debian's redis-server on a free loopback port with its data in a fresh temporary directory:
// append-only file, no snapshots, nothing evicted, as docs/operations.md runs it.
export class RedisProcess {
  static async start() {
    const redis = new RedisProcess();
    redis.port = await freePort();
    redis.dir = mkdtempSync(path.join(tmpdir(), 'parley-redis-'));
    redis.program = new Program('redis-server', [
      'redis-server', '--port', String(redis.port), '--bind', '127.0.0.1', '--dir', redis.dir,
      '--appendonly', 'yes', '--save', '', '--maxmemory-policy', 'noeviction',
    ]);
    const giveUp = Date.now() + 15000;
    for (;;) {
      const up = await new Promise((resolve) => {
        const socket = net.connect(redis.port, '127.0.0.1', () => { socket.end(); resolve(true); });
        socket.on('error', () => resolve(false));
      });
      if (up) return redis;
      if (Date.now() > giveUp) throw new Error(`redis-server did not listen:\n${redis.program.output}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async stop() {
    await this.program.stop();
    rmSync(this.dir, {recursive: true, force: true});
  }
}

// Broker and frontend; the broker can be stopped and started again on the same port.
// `brokerFlags`: more command-line flags for the broker. `redis`: the broker keeps its state
// in a redis-server of the stack's own (so a broker restart loses nothing).
export class Stack {
  // `frontendFlags` and `frontendEnv`: more flags and environment for the frontend.
  // `freezableBroker`: the frontend reaches the broker through `stack.brokerLink`, a
  // FreezableLink (stack.brokerLink.freeze() makes the broker answer nothing).
  static async start({brokerFlags = [], redis = false, frontendFlags = [], frontendEnv = {},
                      freezableBroker = false} = {}) {
    if (!BROKER || !FRONTEND) throw new Error('PARLEY_BROKER_BINARY and PARLEY_FRONTEND_BINARY');
    const stack = new Stack();
    stack.brokerFlags = brokerFlags;
    if (redis) {
      stack.redis = await RedisProcess.start();
      stack.brokerFlags = [...brokerFlags, `--redis=127.0.0.1:${stack.redis.port}`];
    }
    await stack.startBroker('127.0.0.1:0');
    if (freezableBroker) stack.brokerLink = await FreezableLink.start(stack.brokerPort);
    const brokerPort = freezableBroker ? stack.brokerLink.port : stack.brokerPort;
    stack.frontend = new Program('frontend', [
      FRONTEND, '--listen=127.0.0.1:0', `--broker=127.0.0.1:${brokerPort}`,
      '--broker_timeout=1s', ...frontendFlags,
      // PARLEY_WEB_ROOT: serve the page from that directory (another version of frontend/web,
      // to see a test fail against the page before a change).
      ...(process.env.PARLEY_WEB_ROOT ? [`--web_root=${process.env.PARLEY_WEB_ROOT}`] : []),
    ], {env: frontendEnv});
    stack.url = `http://127.0.0.1:${await stack.frontend.port}`;
    await stack.waitReady();
    return stack;
  }

  // Waits until the frontend's /readyz/broker answers 200 (it has reached the broker): a
  // login that races the first broker connection on a loaded machine would otherwise meet
  // "The chat is unavailable".
  async waitReady(timeoutMs = 15000) {
    const giveUp = Date.now() + timeoutMs;
    let last = 'no answer';
    while (Date.now() < giveUp) {
      try {
        const answer = await fetch(`${this.url}/readyz/broker`);
        last = `${answer.status} ${await answer.text()}`;
        if (answer.status === 200) return;
      } catch (error) {
        last = String(error);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`the frontend was not ready within ${timeoutMs} ms (${last}):\n` +
                    `${this.frontend.output}\n${this.broker.output}`);
  }

  async startBroker(listen = `127.0.0.1:${this.brokerPort}`) {
    this.broker = new Program('broker', [BROKER, `--listen=${listen}`, '--threads=1',
                                         '--drain_delay=0s', ...(this.brokerFlags || [])]);
    this.brokerPort = await this.broker.port;
  }

  async stopBroker() {
    await this.broker.stop();
  }

  // SIGKILL, as in a crash: nothing is drained.
  async killBroker() {
    await this.broker.kill();
  }

  async close() {
    if (this.brokerLink) this.brokerLink.thaw();
    await Promise.all([this.frontend && this.frontend.stop(), this.broker && this.broker.stop()]);
    if (this.brokerLink) await this.brokerLink.close();
    if (this.redis) await this.redis.stop();
  }
}

