// The broker as a developer with grpcurl sees it: everything below comes from the server's
// reflection service (no .proto at hand), through a client that is not Parley's code
// (@grpc/grpc-js with grpc-js-reflection-client). The same calls as docs/operations.md.
import assert from 'node:assert/strict';
import {test} from 'node:test';

import * as grpc from '@grpc/grpc-js';
import {GrpcReflection} from 'grpc-js-reflection-client';

import {Program, BROKER} from '../lib/stack.mjs';

const insecure = () => grpc.credentials.createInsecure();

async function waitUntil(condition, timeoutMs = 10000) {
  const giveUp = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > giveUp) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function call(client, method, request, deadlineSeconds = 5) {
  return new Promise((resolve, reject) => {
    client[method](request, {deadline: Date.now() + deadlineSeconds * 1000},
                   (error, response) => (error ? reject(error) : resolve(response)));
  });
}

test('grpcurl-style list, describe, health, Connect, Publish and Poll by reflection', {timeout: 60000}, async () => {
  const broker = new Program('broker', [BROKER, '--listen=127.0.0.1:0', '--threads=1',
                                         '--drain_delay=0s']);
  const target = `127.0.0.1:${await broker.port}`;
  try {
    const reflection = new GrpcReflection(target, insecure());

    // grpcurl -plaintext HOST list
    const services = await reflection.listServices();
    for (const name of ['parley.v1.Broker', 'grpc.health.v1.Health',
                        'grpc.reflection.v1alpha.ServerReflection']) {
      assert.ok(services.includes(name), `${name} in ${services}`);
    }

    // grpcurl -plaintext HOST describe parley.v1.Broker
    const methods = (await reflection.listMethods('parley.v1.Broker')).map((m) => m.name);
    for (const name of ['Connect', 'Disconnect', 'Publish', 'Poll', 'PollStream', 'Join', 'Leave',
                        'History', 'Members', 'Rooms', 'Stats', 'CreateRoom', 'AddMember',
                        'RemoveMember', 'DisconnectUser', 'ListRooms']) {
      assert.ok(methods.includes(name), `${name} in ${methods}`);
    }

    // grpcurl -plaintext -d '{"service":"parley.v1.Broker"}' HOST grpc.health.v1.Health/Check
    const healthPackage = (await reflection.getDescriptorBySymbol('grpc.health.v1.Health'))
        .getPackageObject({keepCase: true, enums: String, longs: String, defaults: true});
    const health = new healthPackage.grpc.health.v1.Health(target, insecure());
    assert.equal((await call(health, 'Check', {service: 'parley.v1.Broker'})).status, 'SERVING');

    const brokerPackage = (await reflection.getDescriptorBySymbol('parley.v1.Broker'))
        .getPackageObject({keepCase: true, enums: String, longs: String, defaults: true});
    const client = new brokerPackage.parley.v1.Broker(target, insecure());

    // grpcurl -plaintext -d '{"user":"alice","session":"s1"}' HOST parley.v1.Broker/Connect
    const connected = await call(client, 'Connect', {user: 'alice', session: 's1'});
    assert.equal(connected.created, true);
    const cursor = connected.cursor;

    // A Poll parks until the Publish below arrives (grpcurl -max-time 30 ... Poll).
    const polled = call(client, 'Poll', {user: 'alice', cursor, wait_ms: 20000}, 30);
    await waitUntil(async () => (await call(client, 'Stats', {})).parked_polls === '1');
    const published = await call(client, 'Publish', {sender: 'alice', room: 'lobby',
                                                     text: 'hello from grpcurl',
                                                     idempotency_key: 'k1'});
    assert.equal(published.message.text, 'hello from grpcurl');
    assert.equal(published.recipients, 1);
    const answer = await polled;
    assert.deepEqual(answer.messages.map((m) => [m.kind, m.from, m.text]),
                     [['CHAT', 'alice', 'hello from grpcurl']]);
    assert.equal(answer.epoch, connected.epoch);

    // grpcurl -plaintext -d @ HOST parley.v1.Broker/PollStream, with two polls on stdin (then
    // end of input, which half-closes the stream): both park, one Publish answers both in
    // stream messages that carry the message once, and the stream ends OK.
    const stream = client.PollStream();
    const received = [];
    const ended = new Promise((resolve, reject) => {
      stream.on('data', (message) => received.push(message));
      stream.on('error', reject);
      stream.on('status', resolve);
    });
    const request = {user: 'alice', cursor: answer.cursor, wait_ms: 20000};
    stream.write({polls: [{id: 1, request, deadline_ms: 30000},
                          {id: 2, request, deadline_ms: 30000}]});
    stream.end();
    await waitUntil(async () => (await call(client, 'Stats', {})).parked_polls === '2');
    const streamed = await call(client, 'Publish', {sender: 'alice', room: 'lobby',
                                                    text: 'hello, streams'});
    const status = await ended;
    assert.equal(status.code, grpc.status.OK);
    const answers = received.flatMap((message) => message.answers.map((a) => [a, message]));
    assert.deepEqual(answers.map(([a]) => a.id).sort(), ['1', '2']);
    for (const [a, message] of answers) {
      assert.equal(a.code, 0);
      assert.equal(message.messages.length, 1);  // once per stream message
      const shared = message.messages[a.message_index[0]];
      assert.equal(shared.id, streamed.message.id);
      assert.equal(shared.text, 'hello, streams');
      assert.equal(a.seq[0], String(Number(answer.cursor) + 1));
      assert.equal(a.response.cursor, a.seq[0]);
    }

    // Bad input gets a status with a message, as grpcurl would print it.
    await assert.rejects(call(client, 'Publish', {sender: 'alice', room: 'nowhere', text: 'x'}),
                         (error) => error.code === grpc.status.NOT_FOUND &&
                             /nowhere/.test(error.details));
    await assert.rejects(call(client, 'Connect', {user: 'not a name!', session: 's'}),
                         (error) => error.code === grpc.status.INVALID_ARGUMENT);
    // The server API's calls, as an app's operator would make them with grpcurl:
    // grpcurl -plaintext -d '{"name":"team","private":true,"members":["alice"]}' HOST parley.v1.Broker/CreateRoom
    const created = await call(client, 'CreateRoom', {name: 'team', private: true,
                                                      members: ['alice']});
    assert.deepEqual([created.room.name, created.room.private, created.joined], ['team', true, ['alice']]);
    const system = await call(client, 'Publish', {sender: 'billing', room: 'team', system: true,
                                                  text: 'invoice paid'});
    assert.equal(system.message.kind, 'SYSTEM');
    const listed = await call(client, 'ListRooms', {});
    assert.deepEqual(listed.rooms.map((r) => [r.name, r.private]), [['lobby', false], ['team', true]]);
    await assert.rejects(call(client, 'History', {room: 'team', user: 'bob'}),
                         (error) => error.code === grpc.status.NOT_FOUND);
    assert.equal((await call(client, 'DisconnectUser', {user: 'alice'})).was_connected, true);

    client.close();
    health.close();
  } finally {
    await broker.stop();
  }
});
