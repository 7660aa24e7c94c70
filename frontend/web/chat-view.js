// Draws the store into the page. Every user-provided string goes in through text nodes
// (chat-format.js for message text), never as HTML. Touched only from the page's event loop,
// like everything here.
'use strict';

import {formatText, mentionsMe} from './chat-format.js';
import {isChat} from './chat-store.js';

const GROUP_MS = 5 * 60 * 1000;  // lines of one sender closer than this share a header
const STATUS_TEXT = {
  connecting: 'connecting…',
  connected: 'connected',
  reconnecting: 'reconnecting…',
  offline: 'offline',
};
// The broker's default text limits (--max_text_chars, --max_text_bytes): the counter shows
// from COUNTER_FROM of the limit on; past it the page does not send.
export const MAX_TEXT_CHARS = 2000;
export const MAX_TEXT_BYTES = 4096;
const COUNTER_FROM = 0.8;

const $ = (id) => document.getElementById(id);

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

const dayOf = (message) => new Date(message.sentAt || Date.now()).toDateString();

// "Today", "Yesterday", or the date in the reader's locale.
function dayLabel(message) {
  const sent = new Date(message.sentAt || Date.now());
  const today = new Date();
  const yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
  if (sent.toDateString() === today.toDateString()) return 'Today';
  if (sent.toDateString() === yesterday.toDateString()) return 'Yesterday';
  return sent.toLocaleDateString([], {weekday: 'long', year: 'numeric', month: 'long', day: 'numeric'});
}

function timeOf(message) {
  const sent = message.sentAt ? new Date(message.sentAt) : new Date();
  const time = element('time', '', sent.toLocaleTimeString([], {hour: '2-digit', minute: '2-digit'}));
  time.dateTime = sent.toISOString();
  time.title = sent.toLocaleString([], {dateStyle: 'full', timeStyle: 'short'});
  return time;
}

// Code points, as the broker counts --max_text_chars.
export const charCount = (text) => [...text].length;
export const byteCount = (text) => new TextEncoder().encode(text).length;

export class View {
  constructor(store, outbox) {
    this.store = store;
    this.outbox = outbox;
    this.list = $('message');
    this.jump = $('jump');
    this.marker = null;  // {key, id}: "New since you left" goes before line `id` of `key`
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
    if (status.dataset.state === state) return;
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
        button.append(element('span', 'name', conversation.label));
        const spoken = [conversation.kind === 'room' ? `room ${conversation.name}`
                        : conversation.closed ? `closed conversation with ${conversation.name} before`
                                              : `direct messages with ${conversation.name}`];
        if (conversation.mentions > 0) {
          button.append(element('span', 'badge-mention', `@${conversation.mentions}`));
          spoken.push(`${conversation.mentions} mentioning you`);
        }
        if (conversation.unread > 0) {
          const kind = conversation.kind === 'dm' ? 'unread dm' : 'unread';
          button.append(element('span', kind, String(conversation.unread)));
          spoken.push(`${conversation.unread} unread`);
        }
        button.setAttribute('aria-label', spoken.join(', '));
        if (conversation.key === this.store.currentKey) button.setAttribute('aria-current', 'true');
        item.append(button);
        return item;
      }));
    };
    fill($('rooms'), this.store.rooms);
    fill($('dms'), this.store.directs);
    if (this.store.directs.length === 0) {
      $('dms').append(element('li', 'empty', 'Click a name under Online, or write a name below.'));
    }
    const current = this.store.current;
    const label = current.kind === 'room' ? current.label : `@${current.label}`;
    $('title').textContent = label;
    $('post').placeholder = current.closed ? 'This conversation is closed' : `Message ${label}`;
    $('leave').hidden = !(current.kind === 'room' && current.name !== 'lobby');
    const all = this.store.rooms.concat(this.store.directs);
    const unread = all.reduce((n, c) => n + c.unread, 0);
    const attention = all.reduce((n, c) => n + c.mentions + (c.kind === 'dm' ? c.unread : 0), 0);
    document.title = attention > 0 ? `(${attention}) ● Parley` : unread > 0 ? `(${unread}) Parley` : 'Parley';
    // The phone's menu button: a dot when something waits behind it.
    const menu = $('menu');
    menu.dataset.attention = attention > 0 ? 'urgent' : unread > 0 ? 'unread' : '';
    menu.setAttribute('aria-label', attention > 0 ? `Rooms and people, ${attention} waiting for you`
                                    : unread > 0 ? `Rooms and people, ${unread} unread` : 'Rooms and people');
  }

  // The open conversation's lines, then its unsent ones. `anchor`: 'bottom' (scroll to the
  // newest), 'keep' (older lines went on top: the lines on screen stay where they were), or
  // 'marker' (the "New since you left" line at the top of the view, if there is one).
  renderMessages({anchor = 'bottom'} = {}) {
    const conversation = this.store.current;
    const fromBottom = this.list.scrollHeight - this.list.scrollTop;
    const items = [];
    if (conversation.kind === 'room') {
      if (conversation.atStart) {
        items.push(element('li', 'start', `This is the start of #${conversation.name}.`));
      } else if (conversation.older) {
        const more = element('li', 'older');
        const button = element('button', 'quiet', conversation.loadingOlder ? 'Loading older messages…'
                                                                           : 'Load older messages');
        button.type = 'button';
        button.dataset.older = '1';
        // Not a tab stop: scrolling up (Home, PageUp) loads older lines too, and the list
        // itself is the stop before the composer.
        button.tabIndex = -1;
        more.append(button);
        items.push(more);
      }
    }
    let previous = null;
    const marker = this.marker && this.marker.key === conversation.key ? this.marker.id : null;
    for (const message of conversation.messages) {
      if (!previous || dayOf(previous) !== dayOf(message)) items.push(this.dayItem(message));
      if (message.id === marker) {
        const line = element('li', 'new-marker', 'New since you left');
        line.setAttribute('role', 'separator');
        items.push(line);
      }
      items.push(this.messageItem(message, previous));
      previous = message;
    }
    for (const entry of this.outbox.pendingFor(conversation.key)) items.push(this.pendingItem(entry));
    this.list.replaceChildren(...items);
    const markerItem = this.list.querySelector('li.new-marker');
    if (anchor === 'keep') {
      this.list.scrollTop = this.list.scrollHeight - fromBottom;
    } else if (anchor === 'marker' && markerItem) {
      this.list.scrollTop = markerItem.offsetTop - this.list.offsetTop - 8;
      if (!this.atBottom()) this.jump.hidden = false;
    } else {
      this.scrollToBottom();
    }
  }

  dayItem(message) {
    const item = element('li', 'day');
    item.setAttribute('role', 'separator');
    item.append(element('span', '', dayLabel(message)));
    return item;
  }

  // Adds the newest line of the open conversation (it went at the end).
  appendMessage(message, {own = false} = {}) {
    const wasAtBottom = this.atBottom();
    const messages = this.store.current.messages;
    const previous = messages.length > 1 ? messages[messages.length - 2] : null;
    const firstPending = this.list.querySelector('li.pending');
    if (!previous || dayOf(previous) !== dayOf(message)) {
      this.list.insertBefore(this.dayItem(message), firstPending);
    }
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

  text(value) {
    const span = element('span', 'text');
    span.append(...formatText(value, this.store.me));
    return span;
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
      item.append(header, this.text(message.text));
      return item;
    }
    if (!isChat(message)) {
      item.className = 'notice';
      const verb = message.kind === 'JOIN' ? 'joined' : message.kind === 'LEAVE' ? 'left' : '';
      item.textContent = verb ? `${message.from} ${verb} #${message.room}` : message.text;
      return item;
    }
    if (message.from === this.store.me) item.classList.add('mine');
    if (message.from !== this.store.me && mentionsMe(message.text, this.store.me)) {
      item.classList.add('mentions-me');
    }
    const grouped = previous && isChat(previous) && previous.from === message.from &&
        new Date(message.sentAt) - new Date(previous.sentAt) < GROUP_MS;
    if (grouped) item.classList.add('continued');
    const header = element('div', 'meta');
    header.append(element('span', 'from', message.from), timeOf(message));
    item.append(header, this.text(message.text));
    return item;
  }

  pendingItem(entry) {
    const item = element('li', `mine pending ${entry.state}`);
    item.dataset.clientId = entry.clientId;
    const header = element('div', 'meta');
    const state = entry.state === 'retrying' ? 'sending… (trying again)' : 'sending…';
    header.append(element('span', 'from', this.store.me), element('span', 'state', state));
    item.append(header, this.text(entry.text));
    return item;
  }

  // A refused line: said under the composer (its text is back in the box).
  composerError(text) {
    $('composer-error').textContent = text;
  }

  // The counter under the composer, near the limit, and whether the text may be sent.
  updateComposer() {
    const input = $('post');
    const chars = charCount(input.value);
    const bytes = byteCount(input.value);
    const counter = $('counter');
    const over = chars > MAX_TEXT_CHARS || bytes > MAX_TEXT_BYTES;
    if (over) {
      counter.textContent = chars > MAX_TEXT_CHARS
          ? `${(chars - MAX_TEXT_CHARS).toLocaleString('en')} characters over the limit of ${MAX_TEXT_CHARS.toLocaleString('en')}`
          : `too long: ${bytes.toLocaleString('en')} of ${MAX_TEXT_BYTES.toLocaleString('en')} bytes`;
    } else if (chars >= MAX_TEXT_CHARS * COUNTER_FROM) {
      counter.textContent = `${(MAX_TEXT_CHARS - chars).toLocaleString('en')} characters left`;
    } else {
      counter.textContent = '';
    }
    counter.dataset.over = String(over);
    $('send').disabled = over;
    // Grow with the text, up to the CSS max-height (then it scrolls).
    input.style.height = 'auto';
    input.style.height = `${input.scrollHeight + 2}px`;
    return !over;
  }

  // The members pane of `room`: `count` online, `members` the names listed so far (own first),
  // `more` whether a "Show more" page follows; `search` the prefix being searched, if any.
  renderMembers(room, members, count, {more = false, search = '', online = true} = {}) {
    $('online-title').textContent = search ? `In #${room}, “${search}…”`
                                         : online ? `Online in #${room}` : `Members of #${room}`;
    $('online-count').textContent = search ? '' : count.toLocaleString('en');
    const items = members.map(({user, online: isOnline}) => {
      const item = element('li');
      if (user === this.store.me) {
        item.append(element('span', 'person self', `${user} (you)`));
      } else {
        const button = element('button', isOnline ? 'person' : 'person away', user);
        button.type = 'button';
        button.dataset.user = user;
        button.title = `Message ${user}`;
        button.setAttribute('aria-label', `${user}, ${isOnline ? 'online' : 'offline'}: message`);
        item.append(button);
      }
      return item;
    });
    if (members.length === 0) items.push(element('li', 'empty', search ? 'No one by that name.' : 'No one.'));
    $('online').replaceChildren(...items);
    $('members-more').hidden = !more;
  }

  // The open room's online count, as a poll answer gave it (the names follow, or not).
  renderOnlineCount(count) {
    $('online-count').textContent = count.toLocaleString('en');
  }

  // The room directory: public rooms with member counts and a join (or open) button.
  renderDirectory(rooms) {
    const list = $('directory');
    list.replaceChildren(...rooms.map((room) => {
      const item = element('li');
      const joined = this.store.conversations.has(`#${room.name}`);
      const members = Number(room.presence && room.presence.members) || 0;
      item.append(element('span', 'name', `#${room.name}`),
                  element('span', 'count', `${members.toLocaleString('en')} ${members === 1 ? 'member' : 'members'}`));
      const button = element('button', 'quiet', joined ? 'Open' : 'Join');
      button.type = 'button';
      button.dataset.join = room.name;
      button.setAttribute('aria-label', `${joined ? 'Open' : 'Join'} #${room.name}`);
      item.append(button);
      return item;
    }));
    if (rooms.length === 0) list.append(element('li', 'empty', 'No public rooms.'));
    list.hidden = false;
  }
}
