// Messages being sent. Each gets a clientId (the broker's idempotency key), shows as pending,
// is retried with backoff while the network or server is down, and leaves the outbox when the
// server answers with the stored message, so a retry can never show a line twice. One is sent
// at a time, in the order they were written: two lines typed quickly must not overtake each
// other on the way. A refused line (4xx other than 408 and 429: no retry could pass) leaves
// the outbox and is handed back (onRefused) for the writer to edit; the next goes on.
'use strict';

import {api, backoffMs, newClientId, sleep} from './chat-api.js';

export class Outbox {
  // onChange(): the pending list changed; onSent(entry, answer): stored by the broker (the
  // answer has the stored `message`, and `held` for a direct message kept for someone away);
  // onRefused(entry, error): refused for good (the entry is gone).
  constructor({onChange, onSent, onRefused}) {
    this.entries = new Map();  // clientId -> {clientId, key, target, text, state, since}
    this.onChange = onChange;
    this.onSent = onSent;
    this.onRefused = onRefused;
    this.line = Promise.resolve();  // the sends in order; each waits for the one before
  }

  // The entries waiting for conversation `key`, oldest first.
  pendingFor(key) {
    return [...this.entries.values()].filter((entry) => entry.key === key);
  }

  // `target` is {room} or {to}; `key` the conversation it shows in.
  send(key, target, text) {
    const entry = {clientId: newClientId(), key, target, text, state: 'pending', since: performance.now()};
    this.entries.set(entry.clientId, entry);
    this.onChange();
    this.enqueue(entry);
  }

  // How long the oldest line has waited for the server, in ms (0: none waiting).
  oldestWaitMs() {
    let oldest = 0;
    for (const entry of this.entries.values()) oldest = Math.max(oldest, performance.now() - entry.since);
    return oldest;
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
        this.onSent(entry, answer);
        this.onChange();
        return;
      } catch (error) {
        if (!error.transient) {  // refused (not a member, text too long...): hand it back
          this.entries.delete(entry.clientId);
          this.onChange();
          this.onRefused(entry, error);
          return;
        }
        entry.state = 'retrying';
        this.onChange();
        await sleep(backoffMs(failures, error.retryAfter));
      }
    }
  }
}
