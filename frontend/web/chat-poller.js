// The tab's one long-poll loop (docs/ui.md has the state machine). It owns the cursor and
// epoch, hands every answer's messages on in order, and reports its connection state.
'use strict';

import {api, backoffMs, sleep} from './chat-api.js';

const WAIT_SECONDS = 25;
// A poll is overdue when it has not been answered this long after its wait ran out: the
// frontend answers by then even with the broker stuck, so something between is.
const OVERDUE_MS = (WAIT_SECONDS + 4) * 1000;

export class Poller {
  // handlers: onMessages(messages, {initial}), onPresence(rooms) (the rooms whose presence
  // changed, before the messages of the same answer), presenceVersions() (what the tab knows,
  // "room:version,..."), onState('connected' | 'reconnecting' | 'offline'), onGap(),
  // async onEpochChange(answer) (the broker restarted: the answer holds the new queue's first
  // messages; the poller goes on from its cursor afterwards).
  constructor(handlers) {
    this.handlers = handlers;
    this.cursor = '0';
    this.epoch = '0';
    this.failures = 0;
    this.controller = new AbortController();
    this.sentAt = 0;  // performance.now() of the request in flight, 0 if none
  }

  // Whether the request in flight is overdue (the connection is in doubt).
  overdue() {
    return this.sentAt !== 0 && performance.now() - this.sentAt > OVERDUE_MS;
  }

  // Starts from `cursor` of the queue `epoch`; the first answer is the catch-up (`initial`).
  start(cursor, epoch) {
    this.cursor = cursor;
    this.epoch = epoch;
    this.run();
  }

  // Ends the loop and aborts the request in flight (the tab is closing).
  stop() {
    this.controller.abort();
  }

  async run() {
    const signal = this.controller.signal;
    let initial = true;
    while (!signal.aborted) {
      let answer;
      try {
        const presence = encodeURIComponent(this.handlers.presenceVersions());
        const query = `cursor=${this.cursor}&epoch=${this.epoch}&wait=${WAIT_SECONDS}&max=500` +
                      `&presence=${presence}`;
        this.sentAt = performance.now();
        answer = await api('GET', `/api/poll?${query}`, null,
                           {signal, timeoutMs: (WAIT_SECONDS + 10) * 1000});
        this.sentAt = 0;
      } catch (error) {
        this.sentAt = 0;
        if (signal.aborted) return;
        this.failures += 1;
        this.handlers.onState(navigator.onLine === false ? 'offline' : 'reconnecting');
        await sleep(backoffMs(this.failures, error.retryAfter), signal);
        continue;
      }
      this.failures = 0;
      this.handlers.onState('connected');
      if (this.epoch !== '0' && answer.epoch !== this.epoch) {
        this.epoch = answer.epoch;
        this.cursor = answer.cursor;
        await this.handlers.onEpochChange(answer);
      } else {
        // A gap on the catch-up only says the queue had already dropped its oldest lines.
        if (answer.gap && !initial) this.handlers.onGap();
        this.epoch = answer.epoch;
        this.cursor = answer.cursor;
        this.handlers.onPresence(answer.presence || []);
        this.handlers.onMessages(answer.messages, {initial});
      }
      initial = false;
    }
  }
}
