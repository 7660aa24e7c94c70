// The Kubernetes manifests: kustomize renders base and the dev overlay, every object
// validates against the Kubernetes API schema (kubernetes-models: the OpenAPI types, required
// fields, enums and formats, offline), and the operational rules of docs/operations.md hold.
import assert from 'node:assert/strict';
import {execFileSync} from 'node:child_process';
import path from 'node:path';
import {test} from 'node:test';
import {fileURLToPath} from 'node:url';

import {parseAllDocuments} from 'yaml';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const MAX_WAIT_SECONDS = 30;  // the broker's --max_wait: the longest a poll is held

function render(dir) {
  const text = execFileSync('kubectl', ['kustomize', path.join(ROOT, dir)], {encoding: 'utf8'});
  return parseAllDocuments(text).map((document) => {
    assert.deepEqual(document.errors, [], `${dir}: YAML errors`);
    return document.toJS();
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
  assert.equal(secret.valueFrom.secretKeyRef.name, 'parley-session');
  find(objects, 'Secret', 'parley-session');
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
  assert.ok(!container.args.some((a) => a.includes('replace-me')));
  const mount = container.volumeMounts.find((m) => m.mountPath === '/etc/parley-redis');
  const volume = broker.spec.template.spec.volumes.find((v) => v.name === mount.name);
  assert.equal(volume.secret.secretName, 'parley-redis');
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
  const secret = find(objects, 'Secret', 'parley-redis');
  assert.equal(secret.stringData['auth.conf'], `requirepass ${secret.stringData.password}`);
  const policy = find(objects, 'NetworkPolicy', 'parley-redis');
  assert.deepEqual(policy.spec.podSelector.matchLabels, {'app.kubernetes.io/name': 'parley-redis'});
  assert.deepEqual(policy.spec.ingress, [{
    from: [{podSelector: {matchLabels: {'app.kubernetes.io/name': 'parley-broker'}}}],
    ports: [{port: 6379, protocol: 'TCP'}],
  }]);
});
