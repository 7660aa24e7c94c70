// The container files, checked without a container engine: the Dockerfile against checks of
// our own, each a regular expression over its instructions modelled on one of hadolint's DL
// rules (hadolint itself is not in Debian), docker-compose.yml with Debian's docker-compose,
// and every command line the deploy files give the programs against the programs themselves.
// The runtime stage against what the binaries link is runtime_stage.test.mjs (skipped on
// sanitizer builds); building the images and running them on a Docker engine is
// engine.test.mjs, `make test-deploy`.
import assert from 'node:assert/strict';
import {execFileSync, spawnSync} from 'node:child_process';
import {cpSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {test} from 'node:test';
import {fileURLToPath} from 'node:url';

import {parse} from 'yaml';

import {readDockerfile} from '../lib/dockerfile.mjs';
import {Program} from '../lib/stack.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const DOCKERFILE = path.join(ROOT, 'deploy/docker/Dockerfile');
const BINARIES = {
  broker: process.env.PARLEY_BROKER_BINARY,
  frontend: process.env.PARLEY_FRONTEND_BINARY,
  health: process.env.PARLEY_HEALTH_BINARY,
};

const {stages, stage, lineage, args} = readDockerfile(DOCKERFILE);

test('Dockerfile passes our checks modelled on hadolint\'s DL rules', () => {
  for (const {image, name} of stages) {
    if (stage(image)) continue;  // FROM an earlier stage
    assert.match(image, /^[\w./-]+:[\w.-]+$/, `DL3006: ${name} pins a tag`);
    assert.doesNotMatch(image, /:latest$/, `DL3007: ${name} does not use latest`);
  }
  for (const {name, instructions} of stages) {
    for (const {keyword, args: text} of instructions) {
      assert.notEqual(keyword, 'ADD', `DL3020: ${name} uses COPY, not ADD`);
      if (keyword === 'WORKDIR') assert.match(text, /^\//, `DL3000: ${name} WORKDIR is absolute`);
      if (keyword === 'RUN') {
        assert.doesNotMatch(text, /(^|&&|;)\s*cd\s/, `DL3003: ${name} uses WORKDIR, not cd`);
        assert.doesNotMatch(text, /\b(curl|wget)\b.*\|\s*(ba)?sh/, `${name} pipes no download into a shell`);
        assert.doesNotMatch(text, /\bsudo\b/, `DL3004: ${name}`);
        if (/apt-get install/.test(text)) {
          assert.match(text, /--no-install-recommends/, `DL3015: ${name}`);
          assert.match(text, /\s-y\s/, `DL3014: ${name}`);
          assert.match(text, /rm -rf \/var\/lib\/apt\/lists/, `DL3009: ${name} cleans apt lists`);
        }
        if (/install-deps\.sh/.test(text)) {
          assert.match(text, /rm -rf \/var\/lib\/apt\/lists/, `DL3009: ${name} cleans apt lists`);
        }
      }
    }
  }
  for (const target of ['broker', 'frontend']) {
    const all = lineage(target);
    const users = args(all, 'USER');
    assert.ok(users.length > 0 && !/^(root|0)(:|$)/.test(users.at(-1)), `DL3002: ${target} runs as a non-root user`);
    assert.deepEqual(args(all, 'STOPSIGNAL'), ['SIGTERM'], `${target} STOPSIGNAL`);
    assert.ok(args(all, 'EXPOSE').length > 0, `${target} EXPOSEs its port`);
    assert.ok(args(all, 'HEALTHCHECK').length > 0, `${target} has a HEALTHCHECK`);
    const entrypoint = args(all, 'ENTRYPOINT').at(-1);
    assert.doesNotThrow(() => JSON.parse(entrypoint), `DL3025: ${target} ENTRYPOINT in exec form`);
    assert.doesNotThrow(() => JSON.parse(args(all, 'CMD').at(-1)), `DL3025: ${target} CMD`);
  }
  const ignore = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8');
  for (const entry of ['.git', 'build', 'build-*', '**/node_modules']) {
    assert.ok(ignore.split('\n').includes(entry), `.dockerignore keeps out ${entry}`);
  }
});

test('docker-compose.yml validates with Debian\'s docker-compose', () => {
  const result = spawnSync('docker-compose', ['-f', path.join(ROOT, 'docker-compose.yml'), 'config', '-q'],
                           {encoding: 'utf8', cwd: ROOT});
  assert.equal(result.status, 0, result.stderr);
  const compose = parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'));
  assert.equal(compose.services.frontend.depends_on.broker.condition, 'service_healthy');
  assert.equal(compose.services.frontend.depends_on.secrets.condition, 'service_completed_successfully');
  assert.deepEqual(compose.services.frontend.ports, ['${PARLEY_PORT:-8080}:8080']);
  assert.ok(compose.services.frontend.command.includes(
      '--session_secret_file=/run/parley-secrets/session-secret'));
  for (const service of ['broker', 'frontend']) {
    const grace = parseInt(compose.services[service].stop_grace_period, 10);
    assert.ok(grace > 30, `${service} stop_grace_period outlasts the longest poll`);
    assert.ok(compose.services[service].healthcheck.test.includes('parley-health'));
    assert.ok(compose.services[service].restart);
  }
  // No secret is committed: they are made on the first start.
  for (const service of Object.values(compose.services)) {
    assert.equal(service.env_file, undefined);
    assert.equal(service.environment, undefined);
  }
  assert.match(compose.services.secrets.command.join('\n'), /head -c 32 \/dev\/urandom/);
});

test('the Redis compose file validates on top of the default one: Redis on a volume, two brokers sharing it', () => {
  const files = ['-f', path.join(ROOT, 'docker-compose.yml'), '-f', path.join(ROOT, 'deploy/compose/redis.yml')];
  const result = spawnSync('docker-compose', [...files, 'config'], {encoding: 'utf8', cwd: ROOT});
  assert.equal(result.status, 0, result.stderr);
  const compose = parse(result.stdout);
  assert.ok(compose.services.broker.command.includes('--redis=redis:6379'));
  assert.equal(compose.services.broker.deploy.replicas, 2);
  assert.equal(compose.services.broker.depends_on.redis.condition, 'service_healthy');
  assert.ok(compose.services.frontend.command.includes('--broker=dns:///broker:50051'));
  assert.ok(compose.services.redis.volumes.some((v) => (v.target ?? v.split(':')[1]) === '/data'));
  assert.equal(compose.services.redis.ports, undefined, 'Redis is not published outside compose');
  // One password, made by the secrets service, where Redis, its healthcheck and the brokers
  // read it; never in the repository, never on a command line.
  const file = '/run/parley-secrets/redis-password';
  assert.ok(compose.services.broker.command.includes(`--redis_password_file=${file}`));
  assert.match(compose.services.redis.command.join(' '), new RegExp(`printf 'include /usr/local/etc/redis/redis.conf\\\\nrequirepass %s\\\\n' \\\\?\\s*"\\$\\$?\\(cat ${file}\\)" > /tmp/redis.conf`));
  assert.match(compose.services.redis.healthcheck.test.join(' '), new RegExp(`REDISCLI_AUTH="\\$\\$?\\(cat ${file}\\)" redis-cli ping`));
  // As the official image's redis user: its root entrypoint would chown and switch users,
  // which cap_drop ALL forbids.
  assert.equal(compose.services.redis.user, '999:999');
  assert.deepEqual(compose.services.redis.cap_drop, ['ALL']);
  const conf = readFileSync(path.join(ROOT, 'deploy/compose/redis.conf'), 'utf8');
  assert.doesNotMatch(conf, /requirepass/);
  assert.match(conf, /^appendonly yes$/m);
  assert.match(conf, /^maxmemory \d+mb$/m);
  assert.match(conf, /^maxmemory-policy noeviction$/m);
  assert.match(conf, /^rename-command FLUSHALL ""$/m);
});

// Stand-ins for the secret files the deploy files mount.
const STAND_INS = mkdtempSync(path.join(tmpdir(), 'parley-deploy-'));
const PASSWORD_FILE = path.join(STAND_INS, 'password');
writeFileSync(PASSWORD_FILE, 'stand-in\n');
const SESSION_SECRET_FILE = path.join(STAND_INS, 'session-secret');
writeFileSync(SESSION_SECRET_FILE, 'a-stand-in-session-secret-of-some-length\n');

// Starts `binary` with `argv` (ports moved to 0 so tests never clash, servers it would reach
// moved to a closed port, files it reads to stand-ins) and waits until it listens: every flag
// the deploy files pass exists and is valid.
async function startsWith(binary, argv) {
  const local = argv.map((a) => a.replace(/=0\.0\.0\.0:\d+$/, '=127.0.0.1:0')
                                  .replace(/^--broker=\S+$/, '--broker=127.0.0.1:1')
                                  .replace(/^--redis=\S+$/, '--redis=127.0.0.1:1')
                                  .replace(/^--redis_password_file=\S+$/, `--redis_password_file=${PASSWORD_FILE}`)
                                  .replace(/^--session_secret_file=\S+$/, `--session_secret_file=${SESSION_SECRET_FILE}`));
  const program = new Program(path.basename(binary), [binary, ...local]);
  try {
    await program.port;
  } catch (error) {
    error.message = `${path.basename(binary)} ${local.join(' ')}: ${error.message}`;
    throw error;
  } finally {
    await program.stop();
  }
}

test('the command lines in compose, the Kubernetes manifests and the Dockerfile start the programs', {skip: !BINARIES.broker && 'binaries not given', timeout: 150000}, async () => {
  const compose = parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'));
  await startsWith(BINARIES.broker, compose.services.broker.command);
  await startsWith(BINARIES.frontend, compose.services.frontend.command);
  const redis = parse(readFileSync(path.join(ROOT, 'deploy/compose/redis.yml'), 'utf8'));
  await startsWith(BINARIES.broker, redis.services.broker.command);
  await startsWith(BINARIES.frontend, redis.services.frontend.command);
  for (const target of ['broker', 'frontend']) {
    await startsWith(BINARIES[target], JSON.parse(args(stage(target).instructions, 'CMD').at(-1)));
  }
  const k8s = path.join(STAND_INS, 'k8s');
  cpSync(path.join(ROOT, 'deploy/k8s'), k8s, {recursive: true});
  execFileSync(path.join(ROOT, 'scripts/k8s-secrets.sh'), [k8s]);
  for (const dir of ['base', 'overlays/redis']) {
    const rendered = execFileSync('kubectl', ['kustomize', path.join(k8s, dir)], {encoding: 'utf8'});
    const objects = rendered.split(/^---$/m).map((d) => parse(d)).filter(Boolean);
    const config = objects.find((o) => o.kind === 'ConfigMap').data;
    for (const deployment of objects.filter((o) => o.kind === 'Deployment')) {
      const container = deployment.spec.template.spec.containers[0];
      const argv = container.args.map((a) => a.replace(/\$\((\w+)\)/g, (_, v) => config[v]));
      await startsWith(deployment.metadata.name === 'parley-broker' ? BINARIES.broker : BINARIES.frontend, argv);
    }
  }
});
