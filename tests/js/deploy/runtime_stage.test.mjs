// The Dockerfile's runtime stage against the binaries it ships: every Debian package their
// shared libraries come from is installed, nothing else, and no build tools. Only the plain
// build's binaries are the shipped ones (a sanitizer build links libasan and libubsan), so
// with any other this file exits 77, which ctest shows as skipped. It runs as a plain script
// for that reason: `node --test` would turn the exit code into a failure.
import assert from 'node:assert/strict';
import {execFileSync, spawnSync} from 'node:child_process';
import path from 'node:path';
import {test} from 'node:test';
import {fileURLToPath} from 'node:url';

import {readDockerfile} from '../lib/dockerfile.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const {stage, args} = readDockerfile(path.join(ROOT, 'deploy/docker/Dockerfile'));
const BINARIES = {
  broker: process.env.PARLEY_BROKER_BINARY,
  frontend: process.env.PARLEY_FRONTEND_BINARY,
  health: process.env.PARLEY_HEALTH_BINARY,
};
const SKIPPED = 77;

if (Object.values(BINARIES).some((binary) => !binary)) {
  console.log('skipped: PARLEY_BROKER_BINARY, PARLEY_FRONTEND_BINARY and PARLEY_HEALTH_BINARY not all given');
  process.exit(SKIPPED);
}
if (process.env.PARLEY_SANITIZED === '1') {
  console.log('skipped: sanitizer-built binaries are not the ones the images ship');
  process.exit(SKIPPED);
}

// The Debian packages a binary's shared libraries come from (one dpkg query per binary).
const packageCache = new Map();
function packagesOf(binary) {
  if (packageCache.has(binary)) return packageCache.get(binary);
  const libraries = execFileSync('ldd', [binary], {encoding: 'utf8'})
      .split('\n').map((l) => l.match(/=>\s*(\S+)/)).filter(Boolean)
      .map((m) => execFileSync('readlink', ['-f', m[1]], {encoding: 'utf8'}).trim());
  const owners = spawnSync('dpkg', ['-S', ...libraries], {encoding: 'utf8'});
  const packages = new Set(owners.stdout.split('\n').filter(Boolean).map((l) => l.split(':')[0]));
  packageCache.set(binary, packages);
  return packages;
}

test('the runtime stage installs exactly what the binaries link, and no compiler', () => {
  const runtime = stage('runtime');
  const install = args(runtime.instructions, 'RUN').find((t) => /apt-get install/.test(t));
  const installed = new Set(install.split(/\s+/).filter((w) => /^lib[\w.+-]+\d/.test(w)));
  // Present in debian:bookworm-slim already.
  const base = new Set(['libc6', 'libstdc++6', 'libgcc-s1', 'zlib1g', 'libsystemd0']);
  for (const [name, binary] of Object.entries(BINARIES)) {
    for (const needed of packagesOf(binary)) {
      assert.ok(installed.has(needed) || base.has(needed), `${name} needs ${needed}`);
    }
  }
  const needed = new Set(Object.values(BINARIES).flatMap((binary) => [...packagesOf(binary)]));
  for (const library of installed) assert.ok(needed.has(library), `${library} is needed by nothing`);
  for (const word of install.split(/\s+/)) {
    assert.doesNotMatch(word, /^(g\+\+|gcc|cmake|make|.*-dev)$/, `no build tools at runtime: ${word}`);
  }
});

