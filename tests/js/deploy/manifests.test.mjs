// The Kubernetes manifests: kustomize renders base and the dev overlay, every object
// validates against the Kubernetes API schema (kubernetes-models: the OpenAPI types, required
// fields, enums and formats, offline), and the operational rules of docs/operations.md hold.
import assert from 'node:assert/strict';
import {execFileSync, spawnSync} from 'node:child_process';
import {cpSync, mkdtempSync, readFileSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {test} from 'node:test';
import {fileURLToPath} from 'node:url';

import {parseAllDocuments} from 'yaml';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const MAX_WAIT_SECONDS = 30;  // the broker's --max_wait: the longest a poll is held

// deploy/k8s as an operator has it: copied, with its secrets made by scripts/k8s-secrets.sh.
const SECRETS_SCRIPT = path.join(ROOT, 'scripts/k8s-secrets.sh');
function copyOfK8s() {
  const dir = mkdtempSync(path.join(tmpdir(), 'parley-k8s-'));
  cpSync(path.join(ROOT, 'deploy/k8s'), dir, {recursive: true});
  return dir;
}
const K8S = copyOfK8s();
execFileSync(SECRETS_SCRIPT, [K8S]);
const inK8s = (dir) => path.join(K8S, path.relative('deploy/k8s', dir));

function render(dir) {
  const text = execFileSync('kubectl', ['kustomize', inK8s(dir)], {encoding: 'utf8'});
  return parseAllDocuments(text).map((document) => {
    assert.deepEqual(document.errors, [], `${dir}: YAML errors`);
    const object = document.toJS();
    // kustomize folds a generated Secret's base64 into lines, which the API server's decoder
    // skips; the schema's "byte" format does not.
    for (const key of Object.keys(object.kind === 'Secret' ? object.data ?? {} : {})) {
      object.data[key] = object.data[key].replace(/\s/g, '');
    }
    return object;
  });
}

async function validate(object) {
  const [group, version] = object.apiVersion.includes('/') ? object.apiVersion.split('/')
                                                           : [null, object.apiVersion];
  const module = await import(group ? `kubernetes-models/${group}/${version}`
                                    : `kubernetes-models/${version}`);
  const Model = module[object.kind];
  assert.ok(Model, `no schema for ${object.apiVersion} ${object.kind}`);
  new Model(object).validate();  // throws with the path of the first problem
}

const find = (objects, kind, name) => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  assert.ok(found, `${kind}/${name} is rendered`);
  return found;
};

for (const dir of ['deploy/k8s/base', 'deploy/k8s/overlays/dev', 'deploy/k8s/overlays/redis']) {
  test(`${dir} renders and every object matches the Kubernetes schema`, async () => {
    const objects = render(dir);
    assert.ok(objects.length >= 10, `${objects.length} objects`);
    for (const object of objects) await validate(object);
  });
}

// What a cluster would refuse or leave dangling, which the schemas alone do not see: objects
// split across namespaces, references to Secrets, ConfigMaps, claims, Services and ports that
// are not there, selectors that select nothing, addresses in flags that do not resolve.
const CLUSTER_SCOPED = new Set(['Namespace', 'PriorityClass', 'ClusterRole', 'ClusterRoleBinding',
                                'StorageClass', 'PersistentVolume']);
const PLACEHOLDER = /replace-?me|change-?me|placeholder|example/i;

function selects(selector, labels) {
  assert.equal(selector.matchExpressions, undefined, 'matchLabels only (what this check reads)');
  return Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
}

function checkAsACluster(objects, dir) {
  const namespaced = objects.filter((o) => !CLUSTER_SCOPED.has(o.kind));
  const namespaces = new Set(namespaced.map((o) => o.metadata.namespace));
  assert.equal(namespaces.size, 1, `${dir}: one namespace, not ${[...namespaces].join(', ')}`);
  const [namespace] = namespaces;
  assert.ok(namespace, `${dir}: every namespaced object names its namespace`);
  assert.ok(objects.some((o) => o.kind === 'Namespace' && o.metadata.name === namespace),
            `${dir}: Namespace ${namespace} is created`);
  const named = (kind, name) => objects.find((o) => o.kind === kind && o.metadata.name === name);
  const workloads = objects.filter((o) => ['Deployment', 'StatefulSet'].includes(o.kind));
  const pods = workloads.map((w) => ({
    owner: `${w.kind}/${w.metadata.name}`,
    labels: w.spec.template.metadata.labels,
    spec: w.spec.template.spec,
    claims: (w.spec.volumeClaimTemplates ?? []).map((c) => c.metadata.name),
  }));
  for (const workload of workloads) {
    assert.ok(selects(workload.spec.selector, workload.spec.template.metadata.labels),
              `${workload.metadata.name} selects its own pods`);
  }
  const secretKeys = (name) => {
    const secret = named('Secret', name);
    return secret && Object.keys({...secret.data, ...secret.stringData});
  };
  for (const {owner, spec, claims} of pods) {
    if (spec.priorityClassName) {
      assert.ok(named('PriorityClass', spec.priorityClassName), `${owner}: ${spec.priorityClassName}`);
    }
    const volumes = new Map((spec.volumes ?? []).map((v) => [v.name, v]));
    for (const volume of volumes.values()) {
      if (volume.secret) {
        const keys = secretKeys(volume.secret.secretName);
        assert.ok(keys, `${owner}: Secret ${volume.secret.secretName} exists`);
        for (const item of volume.secret.items ?? []) {
          assert.ok(keys.includes(item.key), `${owner}: ${volume.secret.secretName} has ${item.key}`);
        }
      }
      if (volume.configMap) assert.ok(named('ConfigMap', volume.configMap.name), `${owner}: ${volume.configMap.name}`);
      if (volume.persistentVolumeClaim) {
        assert.ok(named('PersistentVolumeClaim', volume.persistentVolumeClaim.claimName), owner);
      }
    }
    for (const container of [...(spec.initContainers ?? []), ...spec.containers]) {
      const where = `${owner} ${container.name}`;
      assert.match(container.image, /:[\w.-]+$/, `${where}: the image has a tag`);
      assert.doesNotMatch(container.image, /:latest$/, `${where}: a tag that does not float`);
      for (const mount of container.volumeMounts ?? []) {
        assert.ok(volumes.has(mount.name) || claims.includes(mount.name), `${where}: volume ${mount.name}`);
      }
      for (const {secretRef, configMapRef} of container.envFrom ?? []) {
        if (secretRef) assert.ok(named('Secret', secretRef.name), `${where}: ${secretRef.name}`);
        if (configMapRef) assert.ok(named('ConfigMap', configMapRef.name), `${where}: ${configMapRef.name}`);
      }
      for (const {name, valueFrom} of container.env ?? []) {
        const ref = valueFrom?.secretKeyRef;
        if (ref) assert.ok(secretKeys(ref.name)?.includes(ref.key), `${where}: ${name} from ${ref.name}/${ref.key}`);
        const config = valueFrom?.configMapKeyRef;
        if (config) assert.ok(config.key in (named('ConfigMap', config.name)?.data ?? {}), `${where}: ${name}`);
      }
      const ports = container.ports ?? [];
      const hasPort = (port) => ports.some((p) => p.containerPort === port || p.name === port);
      for (const kind of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
        const probe = container[kind];
        if (!probe) continue;
        const port = probe.httpGet?.port ?? probe.tcpSocket?.port ?? probe.grpc?.port;
        if (port !== undefined) assert.ok(hasPort(port), `${where}: ${kind} port ${port} is a container port`);
        if (probe.httpGet) assert.ok(FRONTEND_PATHS.has(probe.httpGet.path), `${where}: ${kind} path ${probe.httpGet.path}`);
      }
      // Addresses the programs are given: a Service of this namespace with that port, or a
      // StatefulSet pod's name under its governing Service.
      for (const arg of container.args ?? []) {
        const match = arg.match(/^--(broker|redis)=(?:dns:\/\/\/)?([\w.-]+):(\d+)$/);
        if (!match) continue;
        const [, flag, host, port] = match;
        const [first, second] = host.split('.');
        const service = named('Service', second ?? first);
        assert.ok(service, `${where}: --${flag} names Service ${second ?? first}`);
        assert.ok(service.spec.ports.some((p) => p.port === Number(port)), `${where}: --${flag} port ${port}`);
        if (second) {
          const set = objects.find((o) => o.kind === 'StatefulSet' && o.spec.serviceName === second);
          assert.ok(set && first.startsWith(`${set.metadata.name}-`), `${where}: --${flag} names a pod of a StatefulSet`);
          assert.ok(Number(first.slice(set.metadata.name.length + 1)) < set.spec.replicas, `${where}: that pod exists`);
          assert.equal(service.spec.clusterIP, 'None', `${where}: pod names resolve through a headless Service`);
        }
      }
    }
  }
  const podsOf = (selector) => pods.filter((p) => selects({matchLabels: selector}, p.labels));
  for (const service of objects.filter((o) => o.kind === 'Service')) {
    const selected = podsOf(service.spec.selector);
    assert.ok(selected.length > 0, `Service ${service.metadata.name} selects pods`);
    for (const {targetPort} of service.spec.ports) {
      assert.ok(selected.every((p) => p.spec.containers.some((c) => (c.ports ?? []).some(
                    (port) => port.name === targetPort || port.containerPort === targetPort))),
                `Service ${service.metadata.name}: target port ${targetPort}`);
    }
  }
  for (const pdb of objects.filter((o) => o.kind === 'PodDisruptionBudget')) {
    assert.ok(podsOf(pdb.spec.selector.matchLabels).length > 0, `PDB ${pdb.metadata.name} selects pods`);
  }
  for (const hpa of objects.filter((o) => o.kind === 'HorizontalPodAutoscaler')) {
    assert.ok(named(hpa.spec.scaleTargetRef.kind, hpa.spec.scaleTargetRef.name), `HPA ${hpa.metadata.name}`);
  }
  for (const policy of objects.filter((o) => o.kind === 'NetworkPolicy')) {
    assert.ok(podsOf(policy.spec.podSelector.matchLabels).length > 0, `NetworkPolicy ${policy.metadata.name}`);
    for (const rule of policy.spec.ingress ?? []) {
      for (const {podSelector} of rule.from ?? []) {
        if (podSelector) assert.ok(podsOf(podSelector.matchLabels ?? {}).length > 0, `NetworkPolicy ${policy.metadata.name} from`);
      }
    }
  }
  for (const ingress of objects.filter((o) => o.kind === 'Ingress')) {
    for (const rule of ingress.spec.rules) {
      for (const {backend} of rule.http.paths) {
        const service = named('Service', backend.service.name);
        assert.ok(service, `Ingress backend ${backend.service.name}`);
        assert.ok(service.spec.ports.some((p) => p.name === backend.service.port.name || p.port === backend.service.port.number),
                  `Ingress backend port`);
      }
    }
  }
  for (const secret of objects.filter((o) => o.kind === 'Secret')) {
    const values = [...Object.values(secret.stringData ?? {}),
                    ...Object.values(secret.data ?? {}).map((v) => Buffer.from(v, 'base64').toString())];
    for (const value of values) assert.doesNotMatch(value, PLACEHOLDER, `Secret ${secret.metadata.name} holds a placeholder`);
  }
}

// The paths parley-frontend answers probes on (FrontendProcessTest and the containers test
// fetch them from the program).
const FRONTEND_PATHS = new Set(['/healthz', '/readyz']);

for (const dir of ['deploy/k8s/base', 'deploy/k8s/overlays/dev', 'deploy/k8s/overlays/redis']) {
  test(`${dir} holds together as a cluster would read it`, () => {
    checkAsACluster(render(dir), dir);
  });
}

test('no secret is committed: without scripts/k8s-secrets.sh nothing renders; run again, it keeps them', () => {
  const bare = copyOfK8s();
  rmSync(path.join(bare, 'base/secrets'), {recursive: true, force: true});
  rmSync(path.join(bare, 'overlays/redis/secrets'), {recursive: true, force: true});
  const refused = spawnSync('kubectl', ['kustomize', path.join(bare, 'base')], {encoding: 'utf8'});
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /secrets\/session-secret/);
  execFileSync(SECRETS_SCRIPT, [bare]);
  const made = readFileSync(path.join(bare, 'base/secrets/session-secret'), 'utf8');
  assert.match(made, /^[0-9a-f]{64}$/);
  assert.notEqual(readFileSync(path.join(bare, 'overlays/redis/secrets/redis-password'), 'utf8'), made);
  execFileSync(SECRETS_SCRIPT, [bare]);
  assert.equal(readFileSync(path.join(bare, 'base/secrets/session-secret'), 'utf8'), made);
  rmSync(bare, {recursive: true});
});

test('pods run locked down: non-root, read-only, no capabilities, RuntimeDefault seccomp', () => {
  for (const deployment of render('deploy/k8s/base').filter((o) => o.kind === 'Deployment')) {
    const pod = deployment.spec.template.spec;
    const name = deployment.metadata.name;
    assert.equal(pod.securityContext.runAsNonRoot, true, name);
    assert.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault', name);
    assert.equal(pod.automountServiceAccountToken, false, name);
    for (const container of pod.containers) {
      assert.equal(container.securityContext.readOnlyRootFilesystem, true, name);
      assert.equal(container.securityContext.allowPrivilegeEscalation, false, name);
      assert.deepEqual(container.securityContext.capabilities.drop, ['ALL'], name);
      assert.ok(container.resources.requests && container.resources.limits, name);
    }
  }
});

test('the broker: one replica, Recreate, gRPC probes, a grace period above the longest poll', () => {
  const objects = render('deploy/k8s/base');
  const broker = find(objects, 'Deployment', 'parley-broker');
  assert.equal(broker.spec.replicas, 1);
  assert.equal(broker.spec.strategy.type, 'Recreate');
  const pod = broker.spec.template.spec;
  assert.ok(pod.terminationGracePeriodSeconds > MAX_WAIT_SECONDS);
  const [container] = pod.containers;
  assert.deepEqual(container.readinessProbe.grpc, {port: 50051, service: 'parley.v1.Broker'});
  assert.deepEqual(container.livenessProbe.grpc, {port: 50051});
  assert.ok(container.args.includes('--metrics_listen=0.0.0.0:9090'));
  const service = find(objects, 'Service', 'parley-broker');
  assert.ok(service.spec.ports.some((p) => p.port === 50051));
});

test('frontends: replicated, HTTP probes, preStop drain, HPA, PDB, secret from a Secret', () => {
  const objects = render('deploy/k8s/base');
  const frontend = find(objects, 'Deployment', 'parley-frontend');
  assert.ok(frontend.spec.replicas >= 2);
  const pod = frontend.spec.template.spec;
  const [container] = pod.containers;
  assert.equal(container.readinessProbe.httpGet.path, '/readyz');
  assert.equal(container.livenessProbe.httpGet.path, '/healthz');
  const preStop = container.lifecycle.preStop.sleep.seconds;
  assert.ok(pod.terminationGracePeriodSeconds > preStop + MAX_WAIT_SECONDS,
            'preStop plus the longest poll fit in the grace period');
  const secret = container.env.find((e) => e.name === 'PARLEY_SESSION_SECRET');
  assert.match(secret.valueFrom.secretKeyRef.name, /^parley-session-/);  // generated, with its hash
  const hpa = find(objects, 'HorizontalPodAutoscaler', 'parley-frontend');
  assert.equal(hpa.spec.scaleTargetRef.name, 'parley-frontend');
  assert.ok(hpa.spec.minReplicas >= 2);
  const pdb = find(objects, 'PodDisruptionBudget', 'parley-frontend');
  assert.deepEqual(pdb.spec.selector.matchLabels, frontend.spec.selector.matchLabels);
  // Every flag taken from the ConfigMap exists there.
  const config = find(objects, 'ConfigMap', 'parley-config');
  for (const deployment of objects.filter((o) => o.kind === 'Deployment')) {
    for (const arg of deployment.spec.template.spec.containers[0].args) {
      for (const [, variable] of arg.matchAll(/\$\((\w+)\)/g)) {
        assert.ok(variable in config.data, `${variable} (${deployment.metadata.name})`);
      }
    }
  }
});

test('only frontends reach the broker port; the ingress outwaits a long poll', () => {
  const objects = render('deploy/k8s/base');
  const policy = find(objects, 'NetworkPolicy', 'parley-broker');
  assert.deepEqual(policy.spec.podSelector.matchLabels, {'app.kubernetes.io/name': 'parley-broker'});
  const grpcRule = policy.spec.ingress.find((rule) => rule.ports.some((p) => p.port === 50051));
  assert.deepEqual(grpcRule.from, [{podSelector: {matchLabels: {'app.kubernetes.io/name': 'parley-frontend'}}}]);
  const ingress = find(objects, 'Ingress', 'parley');
  const readTimeout = Number(ingress.metadata.annotations['nginx.ingress.kubernetes.io/proxy-read-timeout']);
  assert.ok(readTimeout > MAX_WAIT_SECONDS);
});

test('the example Prometheus config scrapes both services where the manifests say', async () => {
  const {readFileSync} = await import('node:fs');
  const {parse} = await import('yaml');
  const config = parse(readFileSync(path.join(ROOT, 'deploy/prometheus/prometheus.yml'), 'utf8'));
  const targets = config.scrape_configs[0].static_configs.flatMap((c) => c.targets);
  assert.deepEqual(targets, ['broker:9090', 'frontend:8080']);
  for (const deployment of render('deploy/k8s/base').filter((o) => o.kind === 'Deployment')) {
    const annotations = deployment.spec.template.metadata.annotations;
    assert.equal(annotations['prometheus.io/scrape'], 'true', deployment.metadata.name);
    const ports = deployment.spec.template.spec.containers[0].ports.map((p) => String(p.containerPort));
    assert.ok(ports.includes(annotations['prometheus.io/port']), deployment.metadata.name);
  }
});

test('the dev overlay: one frontend, local images, debug logs', () => {
  const objects = render('deploy/k8s/overlays/dev');
  assert.equal(find(objects, 'Deployment', 'parley-frontend').spec.replicas, 1);
  assert.equal(find(objects, 'ConfigMap', 'parley-config').data.LOG_LEVEL, 'debug');
  for (const deployment of objects.filter((o) => o.kind === 'Deployment')) {
    assert.match(deployment.spec.template.spec.containers[0].image, /:local$/);
  }
});

test('the redis overlay: Redis on a volume, 2+ brokers behind a headless Service, HPA, PDB, only brokers reach Redis', () => {
  const objects = render('deploy/k8s/overlays/redis');
  const broker = find(objects, 'Deployment', 'parley-broker');
  assert.ok(broker.spec.replicas >= 2);
  assert.equal(broker.spec.strategy.type, 'RollingUpdate');
  assert.equal(broker.spec.strategy.rollingUpdate.maxUnavailable, 0);
  const [container] = broker.spec.template.spec.containers;
  assert.ok(container.args.includes('--redis=parley-redis-0.parley-redis:6379'));
  // The password comes from a mounted Secret, never a command line.
  assert.ok(container.args.includes('--redis_password_file=/etc/parley-redis/password'));
  const mount = container.volumeMounts.find((m) => m.mountPath === '/etc/parley-redis');
  const volume = broker.spec.template.spec.volumes.find((v) => v.name === mount.name);
  assert.match(volume.secret.secretName, /^parley-redis-/);  // generated, with its hash
  // Redis out of reach: out of rotation (readiness), not restarted (liveness).
  assert.equal(container.readinessProbe.grpc.service, 'parley.v1.Broker');
  assert.equal(container.livenessProbe.grpc.service, undefined);
  const headless = find(objects, 'Service', 'parley-broker-headless');
  assert.equal(headless.spec.clusterIP, 'None');
  assert.deepEqual(headless.spec.selector, broker.spec.selector.matchLabels);
  const frontend = find(objects, 'Deployment', 'parley-frontend');
  assert.ok(frontend.spec.template.spec.containers[0].args.includes(
      '--broker=dns:///parley-broker-headless:50051'));
  assert.equal(find(objects, 'HorizontalPodAutoscaler', 'parley-broker').spec.minReplicas, 2);
  assert.equal(find(objects, 'PodDisruptionBudget', 'parley-broker').spec.minAvailable, 1);

  const redis = find(objects, 'StatefulSet', 'parley-redis');
  const pod = redis.spec.template.spec;
  const [server] = pod.containers;
  const args = server.args.join(' ');
  assert.match(args, /--appendonly yes/);
  assert.match(args, /--appendfsync everysec/);
  assert.match(args, /--maxmemory-policy noeviction/);
  assert.ok(server.readinessProbe && server.livenessProbe);
  assert.equal(redis.spec.volumeClaimTemplates[0].metadata.name, 'data');
  assert.ok(server.volumeMounts.some((m) => m.name === 'data' && m.mountPath === '/data'));
  assert.equal(pod.securityContext.runAsNonRoot, true);
  assert.equal(server.securityContext.readOnlyRootFilesystem, true);
  assert.deepEqual(server.securityContext.capabilities.drop, ['ALL']);
  assert.equal(find(objects, 'Service', 'parley-redis').spec.clusterIP, 'None');
  // One password: Redis's auth.conf written from it by the init container, the probes'
  // REDISCLI_AUTH, the brokers' file; on no command line.
  const secret = objects.find((o) => o.kind === 'Secret' && o.metadata.name.startsWith('parley-redis'));
  assert.deepEqual(Object.keys(secret.data), ['password']);
  const [init] = pod.initContainers;
  assert.match(init.command.join(' '), /printf 'requirepass %s\\n' "\$\(cat \/etc\/parley-redis\/password\)" > \/run\/parley-redis\/auth.conf/);
  assert.equal(server.args[0], '/run/parley-redis/auth.conf');
  assert.deepEqual(server.env.find((e) => e.name === 'REDISCLI_AUTH').valueFrom.secretKeyRef,
                   {name: secret.metadata.name, key: 'password'});
  assert.match(server.readinessProbe.exec.command.join(' '), /redis-cli ping/);
  assert.match(args, /--rename-command FLUSHALL\s+$|--rename-command FLUSHALL /);
  const policy = find(objects, 'NetworkPolicy', 'parley-redis');
  assert.deepEqual(policy.spec.podSelector.matchLabels, {'app.kubernetes.io/name': 'parley-redis'});
  assert.deepEqual(policy.spec.ingress, [{
    from: [{podSelector: {matchLabels: {'app.kubernetes.io/name': 'parley-broker'}}}],
    ports: [{port: 6379, protocol: 'TCP'}],
  }]);
});
