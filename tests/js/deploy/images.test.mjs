// The container images, where podman can build and run them: both targets of the Dockerfile
// build, and each image's program starts and prints its help (what it needs at run time is
// there). Starting the services inside containers is left to operators' own CI. Where podman
// cannot run (as on our machines), the file exits 77, which ctest shows as skipped.
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import path from 'node:path';
import {test} from 'node:test';
import {fileURLToPath} from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const DOCKERFILE = path.join(ROOT, 'deploy/docker/Dockerfile');
const SKIPPED = 77;

const podman = spawnSync('podman', ['info'], {encoding: 'utf8'});
if (podman.error || podman.status !== 0) {
  const why = podman.error ? 'podman is not installed'
                           : `podman cannot run containers here: ${podman.stderr.split('\n')[0]}`;
  console.log(`skipped: ${why}`);
  process.exit(SKIPPED);
}

for (const target of ['broker', 'frontend']) {
  test(`the ${target} image builds and its program starts`, {timeout: 1200000}, () => {
    const tag = `parley-${target}:test`;
    const build = spawnSync('podman', ['build', '-f', DOCKERFILE, '--target', target, '-t', tag, ROOT],
                            {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']});
    assert.equal(build.status, 0, build.stderr);
    const run = spawnSync('podman', ['run', '--rm', tag, '--help'], {encoding: 'utf8'});
    assert.match(run.stdout + run.stderr, new RegExp(`parley-${target}`));
  });
}
