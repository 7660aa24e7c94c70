// Draws the store into the page. Every user-provided string goes in through textContent,
// never as HTML. Touched only from the page's event loop, like everything here.
'use strict';

import {isChat} from './chat-store.js';

const GROUP_MS = 5 * 60 * 1000;  // lines of one sender closer than this share a header
const STATUS_TEXT = {
  connecting: 'connecting…',
  connected: 'connected',
  reconnecting: 'reconnecting…',
  offline: 'offline',
};

const $ = (id) => document.getElementById(id);

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function timeOf(message) {
  const sent = message.sentAt ? new Date(message.sentAt) : new Date();
  const time = element('time', '', sent.toLocaleTimeString([], {hour: '2-digit', minute: '2-digit'}));
  time.dateTime = sent.toISOString();
  time.title = sent.toLocaleString();
  return time;
}

export class View {
  constructor(store, outbox) {
    this.store = store;
    this.outbox = outbox;
    this.list = $('message');
    this.jump = $('jump');
    this.list.addEventListener('scroll', () => {
      if (this.atBottom()) this.jump.hidden = true;
    });
    this.jump.addEventListener('click', () => this.scrollToBottom());
    $('banner-close').addEventListener('click', () => { $('banner').hidden = true; });
    $('me').textContent = store.me;
  }

  showDisplayName(name) {
    $('me').textContent = name;
    $('me').title = this.store.me;
  }

  atBottom() {
    return this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 48;
  }

  scrollToBottom() {
    this.list.scrollTop = this.list.scrollHeight;
    this.jump.hidden = true;
  }

  // Keeps the newest line in sight if it was (or if `force`), else offers a jump button.
  afterChange(wasAtBottom, force = false) {
    if (wasAtBottom || force) {
      this.scrollToBottom();
    } else {
      this.jump.hidden = false;
    }
  }

  setStatus(state) {
    const status = $('status');
    status.dataset.state = state;
    status.textContent = STATUS_TEXT[state] || state;
  }

  banner(text) {
    $('banner-text').textContent = text;
    $('banner').hidden = false;
  }

  // The rooms and direct-message lists with unread counts, and the header for the open one.
  renderSidebar() {
    const fill = (list, conversations) => {
      list.replaceChildren(...conversations.map((conversation) => {
        const item = element('li');
        const button = element('button', 'conversation');
        button.type = 'button';
        button.dataset.key = conversation.key;
        button.append(element('span', 'name',
                              conversation.kind === 'room' ? `#${conversation.name}` : conversation.name));
        if (conversation.unread > 0) {
          const badge = element('span', 'unread', String(conversation.unread));
          badge.setAttribute('aria-label', `${conversation.unread} unread`);
          button.append(badge);
        }
        if (conversation.key === this.store.currentKey) button.setAttribute('aria-current', 'true');
        item.append(button);
        return item;
      }));
    };
    fill($('rooms'), this.store.rooms);
    fill($('dms'), this.store.directs);
    if (this.store.directs.length === 0) {
      $('dms').append(element('li', 'empty', 'Click a name under Online to write to them.'));
    }
    const current = this.store.current;
    const label = current.kind === 'room' ? `#${current.name}` : `@${current.name}`;
    $('title').textContent = label;
    $('post').placeholder = `Message ${label}`;
    $('leave').hidden = !(current.kind === 'room' && current.name !== 'lobby');
    const unread = this.store.rooms.concat(this.store.directs).reduce((n, c) => n + c.unread, 0);
    document.title = unread > 0 ? `(${unread}) Parley` : 'Parley';
  }

  // One `li` per line of the open conversation, then its unsent lines.
  renderMessages() {
    const conversation = this.store.current;
    const items = [];
    let previous = null;
    for (const message of conversation.messages) {
      items.push(this.messageItem(message, previous));
      previous = message;
    }
    for (const entry of this.outbox.pendingFor(conversation.key)) items.push(this.pendingItem(entry));
    this.list.replaceChildren(...items);
    this.scrollToBottom();
  }

  // Adds the newest line of the open conversation (it went at the end).
  appendMessage(message, {own = false} = {}) {
    const wasAtBottom = this.atBottom();
    const messages = this.store.current.messages;
    const previous = messages.length > 1 ? messages[messages.length - 2] : null;
    const firstPending = this.list.querySelector('li.pending');
    this.list.insertBefore(this.messageItem(message, previous), firstPending);
    this.afterChange(wasAtBottom, own);
  }

  // Redraws only the unsent lines (they always sit at the end).
  renderPending() {
    const wasAtBottom = this.atBottom();
    this.list.querySelectorAll('li.pending').forEach((item) => item.remove());
    for (const entry of this.outbox.pendingFor(this.store.currentKey)) {
      this.list.append(this.pendingItem(entry));
    }
    this.afterChange(wasAtBottom);
  }

  messageItem(message, previous) {
    const item = element('li');
    item.dataset.id = message.id;
    if (message.kind === 'SYSTEM' && message.from) {
      // From the app (its server API): its sender's name, marked as the app's, and the text.
      item.className = 'system';
      const header = element('div', 'meta');
      header.append(element('span', 'from', message.from), element('span', 'badge', 'app'),
                    timeOf(message));
      item.append(header, element('span', 'text', message.text));
      return item;
    }
    if (!isChat(message)) {
      item.className = 'notice';
      const verb = message.kind === 'JOIN' ? 'joined' : message.kind === 'LEAVE' ? 'left' : '';
      item.textContent = verb ? `${message.from} ${verb} #${message.room}` : message.text;
      return item;
    }
    if (message.from === this.store.me) item.classList.add('mine');
    const grouped = previous && isChat(previous) && previous.from === message.from &&
        new Date(message.sentAt) - new Date(previous.sentAt) < GROUP_MS;
    if (grouped) item.classList.add('continued');
    const header = element('div', 'meta');
    header.append(element('span', 'from', message.from), timeOf(message));
    item.append(header, element('span', 'text', message.text));
    return item;
  }

  pendingItem(entry) {
    const item = element('li', `mine pending ${entry.state}`);
    item.dataset.clientId = entry.clientId;
    const header = element('div', 'meta');
    const state = entry.state === 'failed' ? `not sent: ${entry.error}` : 'sending…';
    header.append(element('span', 'from', this.store.me), element('span', 'state', state));
    item.append(header, element('span', 'text', entry.text));
    if (entry.state === 'failed') {
      const retry = element('button', 'quiet retry', 'Retry');
      retry.type = 'button';
      retry.dataset.retry = entry.clientId;
      item.append(retry);
    }
    return item;
  }

  // Who is online in `room`: `count` in all, `members` the first page of names (own first).
  renderOnline(room, members, count) {
    $('online-title').textContent = `Online in #${room}`;
    $('online-count').textContent = count.toLocaleString('en');
    $('online').replaceChildren(...members.map((member) => {
      const item = element('li');
      if (member === this.store.me) {
        item.append(element('span', 'person self', `${member} (you)`));
      } else {
        const button = element('button', 'person', member);
        button.type = 'button';
        button.dataset.user = member;
        button.title = `Message ${member}`;
        item.append(button);
      }
      return item;
    }));
  }
}
