// The broker as a developer with grpcurl sees it: everything below comes from the server's
// reflection service (no .proto at hand), through a client that is not Parley's code
// (@grpc/grpc-js with grpc-js-reflection-client). The same calls as docs/operations.md.
import assert from 'node:assert/strict';
import {readFileSync} from 'node:fs';
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

// Every grpcurl command the docs give, as written: the shell blocks of README.md,
// docs/operations.md and docs/api.md, read from the files (a changed field name, an RPC
// renamed, a body that no longer parses, an answer that is not OK: each fails here).
const DOCS = ['../../../README.md', '../../../docs/operations.md', '../../../docs/api.md'];

// The grpcurl commands of one markdown file, in order: {args, data} where `data` is the -d
// body ('' if none) and `args` the rest after the host: ['list'], ['describe', 'X'] or
// ['Service/Method'].
function grpcurlCommands(markdown) {
  const commands = [];
  for (const [, block] of markdown.matchAll(/```sh\n([\s\S]*?)```/g)) {
    const text = block.replace(/\\\n\s*/g, ' ');  // continued lines
    const heredoc = /grpcurl ([^\n]*)<<'END'\n([\s\S]*?)\nEND/g;
    const plain = /^grpcurl ([^\n]*)$/gm;
    const found = [];
    for (const match of text.matchAll(heredoc)) found.push([match.index, match[1], match[2]]);
    for (const match of text.matchAll(plain)) {
      if (!match[1].includes('-d @')) found.push([match.index, match[1], null]);
    }
    for (const [, line, body] of found.sort((a, b) => a[0] - b[0])) {
      const inline = /-d '([^']*)'/.exec(line);
      const words = line.replace(/-d '[^']*'/, '').split(/\s+/).filter(Boolean);
      const host = words.findIndex((word) => /^localhost:\d+$/.test(word));
      assert.ok(host >= 0, `no host in: grpcurl ${line}`);
      commands.push({line, data: body ?? (inline ? inline[1] : ''), args: words.slice(host + 1)});
    }
  }
  return commands;
}

// grpcurl refuses a field the message does not have (protobuf's JSON mapping: the proto name
// or its lowerCamelCase JSON name); grpc-js would drop it silently, so it is checked here.
function expectKnownFields(type, object, where) {
  const camel = (name) => name.replace(/_([a-z])/g, (_, c) => c.toUpperCase());
  for (const [key, value] of Object.entries(object)) {
    const field = type.fieldsArray.find((f) => f.name === key || camel(f.name) === key);
    assert.ok(field, `${where}: ${type.fullName} has no field ${key}`);
    if (field.resolvedType && field.resolvedType.fieldsArray) {
      for (const item of field.repeated ? value : [value]) {
        expectKnownFields(field.resolvedType, item, where);
      }
    }
  }
}

// The JSON objects of a grpcurl `-d @` input, one after another.
function jsonObjects(text) {
  const objects = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i += 1) {
    if (text[i] === '{' && depth++ === 0) start = i;
    if (text[i] === '}' && --depth === 0) objects.push(JSON.parse(text.slice(start, i + 1)));
  }
  return objects;
}

test('every grpcurl command in the docs runs as written', {timeout: 90000}, async () => {
  for (const doc of DOCS) {
    const markdown = readFileSync(new URL(doc, import.meta.url), 'utf8');
    const commands = grpcurlCommands(markdown);
    assert.ok(commands.length > 0, `${doc} has no grpcurl commands`);
    const broker = new Program('broker', [BROKER, '--listen=127.0.0.1:0', '--threads=1',
                                           '--drain_delay=0s']);
    const target = `127.0.0.1:${await broker.port}`;
    const reflection = new GrpcReflection(target, insecure());
    const clients = new Map();
    const requestType = async (service, method) => {
      const root = (await reflection.getDescriptorBySymbol(service)).getProtobufJsRoot();
      root.resolveAll();
      return root.lookupService(service).methods[method].resolvedRequestType;
    };
    let sent = 0;
    const clientOf = async (service) => {
      if (!clients.has(service)) {
        const root = (await reflection.getDescriptorBySymbol(service))
            .getPackageObject({keepCase: true, enums: String, longs: String, defaults: true});
        const Client = service.split('.').reduce((at, part) => at[part], root);
        clients.set(service, new Client(target, insecure()));
      }
      return clients.get(service);
    };
    const parked = async () => Number((await call(await clientOf('parley.v1.Broker'), 'Stats', {}))
                                          .parked_polls);
    // A poll that parks is woken as the docs say: someone publishes to a room it is in.
    const wake = (user) => call(clients.get('parley.v1.Broker'), 'Publish',
                                {sender: user, room: 'lobby', text: 'from another terminal'});
    try {
      for (const {line, data, args} of commands) {
        const where = `${doc}: grpcurl ${line}`;
        if (args[0] === 'list') {
          const services = await reflection.listServices();
          assert.ok(services.includes('parley.v1.Broker'), where);
          continue;
        }
        if (args[0] === 'describe') {
          await assert.doesNotReject(reflection.getDescriptorBySymbol(args[1]), where);
          continue;
        }
        assert.equal(args.length, 1, where);
        const slash = args[0].lastIndexOf('/');
        const service = args[0].slice(0, slash);
        const method = args[0].slice(slash + 1);
        const client = await clientOf(service);
        assert.equal(typeof client[method], 'function', `${where}: no such method`);
        const type = await requestType(service, method);
        sent += 1;
        if (method === 'PollStream') {
          const messages = jsonObjects(data);
          for (const message of messages) expectKnownFields(type, message, where);
          const ids = messages.flatMap((m) => (m.polls || []).map((p) => String(p.id)));
          const answered = new Map();
          const stream = client.PollStream();
          const ended = new Promise((resolve, reject) => {
            stream.on('data', (m) => m.answers.forEach((a) => answered.set(a.id, a.code)));
            stream.on('error', reject);
            stream.on('status', resolve);
          });
          for (const message of messages) stream.write(message);
          stream.end();
          await waitUntil(async () => answered.size + (await parked()) >= ids.length);
          if (answered.size < ids.length) await wake(messages[0].polls[0].request.user);
          assert.equal((await ended).code, grpc.status.OK, where);
          assert.deepEqual([...answered.keys()].sort(), ids.sort(), where);
          for (const [id, code] of answered) assert.equal(code, 0, `${where}: poll ${id}`);
          continue;
        }
        const request = data ? JSON.parse(data) : {};
        expectKnownFields(type, request, where);
        const answer = call(client, method, request, 40);
        if (method === 'Poll') {
          let done = false;
          answer.finally(() => { done = true; }).catch(() => {});
          await waitUntil(async () => done || (await parked()) > 0);
          if (!done) await wake(request.user);
        }
        const response = await answer.catch((error) => assert.fail(`${where}: ${error.message}`));
        if (service === 'grpc.health.v1.Health') assert.equal(response.status, 'SERVING', where);
      }
      console.log(`${doc}: ${commands.length} grpcurl commands, ${sent} of them calls, all OK`);
    } finally {
      for (const client of clients.values()) client.close();
      await broker.stop();
    }
  }
});
