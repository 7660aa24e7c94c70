// Messages being sent. Each gets a clientId (the broker's idempotency key), shows as pending,
// is retried with backoff while the network or server is down, and leaves the outbox when the
// server answers with the stored message, so a retry can never show a line twice. One is sent
// at a time, in the order they were written: two lines typed quickly must not overtake each
// other on the way (a refused one is marked and the next goes on).
'use strict';

import {api, backoffMs, newClientId, sleep} from './chat-api.js';

export class Outbox {
  // onChange(): the pending list changed; onSent(entry, message): stored by the broker.
  constructor({onChange, onSent}) {
    this.entries = new Map();  // clientId -> {clientId, key, target, text, state, error}
    this.onChange = onChange;
    this.onSent = onSent;
    this.line = Promise.resolve();  // the sends in order; each waits for the one before
  }

  // The entries waiting for conversation `key`, oldest first.
  pendingFor(key) {
    return [...this.entries.values()].filter((entry) => entry.key === key);
  }

  // `target` is {room} or {to}; `key` the conversation it shows in.
  send(key, target, text) {
    const entry = {clientId: newClientId(), key, target, text, state: 'pending', error: ''};
    this.entries.set(entry.clientId, entry);
    this.onChange();
    this.enqueue(entry);
  }

  retry(clientId) {
    const entry = this.entries.get(clientId);
    if (!entry || entry.state !== 'failed') return;
    entry.state = 'pending';
    entry.error = '';
    this.onChange();
    this.enqueue(entry);
  }

  enqueue(entry) {
    this.line = this.line.then(() => this.deliver(entry));
  }

  // Resolves once the entry is stored or refused; never rejects.
  async deliver(entry) {
    for (let failures = 1; ; failures += 1) {
      try {
        const answer = await api('POST', '/api/messages',
                                 {...entry.target, text: entry.text, clientId: entry.clientId});
        this.entries.delete(entry.clientId);
        this.onSent(entry, answer.message);
        this.onChange();
        return;
      } catch (error) {
        if (!error.transient) {  // refused (not a member, text too long...): say why
          entry.state = 'failed';
          entry.error = error.message;
          this.onChange();
          return;
        }
        entry.state = 'retrying';
        this.onChange();
        await sleep(backoffMs(failures, error.retryAfter));
      }
    }
  }
}
