// Parley's chat page: wires the long-poll loop, the outbox, the store and the view together
// and answers the user's clicks and keys. docs/ui.md describes the whole client.
'use strict';

import {api, ApiError, backoffMs, goToLogin, signInThroughApp, sleep} from './chat-api.js';
import {Outbox} from './chat-outbox.js';
import {Poller} from './chat-poller.js';
import {dmKey, isChat, roomKey, Store} from './chat-store.js';
import {View} from './chat-view.js';

const me = decodeURIComponent(location.pathname.split('/')[2] || '');
const store = new Store(me);
const outbox = new Outbox({
  onChange: () => view.renderPending(),
  onSent: (entry, message) => {
    // Shown at once from the answer; the same id coming back in a poll is then skipped.
    if (message && message.id) receive([message], {own: true});
  },
});
const view = new View(store, outbox);
const $ = (id) => document.getElementById(id);

// Calls `call` until it succeeds, backing off like the poll loop (for start-up reads).
async function persist(call) {
  for (let failures = 1; ; failures += 1) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof ApiError) || !error.transient) throw error;
      await sleep(backoffMs(failures, error.retryAfter));
    }
  }
}

async function loadRooms() {
  const answer = await persist(() => api('GET', '/api/rooms'));
  for (const room of answer.rooms) store.ensureRoom(room);
  // Modes first, so the replay below shows no JOIN/LEAVE lines of large rooms.
  for (const presence of answer.presence || []) store.ensureRoom(presence.room).setPresence(presence);
  for (const conversation of store.rooms) {
    if (!answer.rooms.includes(conversation.name)) store.removeRoom(conversation.name);
  }
}

async function loadHistory(conversation) {
  if (conversation.kind !== 'room' || conversation.historyLoaded) return;
  try {
    const path = `/api/rooms/${encodeURIComponent(conversation.name)}/history?limit=100`;
    const answer = await api('GET', path);
    conversation.historyLoaded = true;
    for (const message of answer.messages) conversation.add(message);
    if (conversation === store.current) view.renderMessages();
  } catch (error) {
    // Not fatal: the room still fills from the poll loop; tried again on the next visit.
  }
}

// Who is online where the user is looking: the open room, or the lobby in a direct chat.
// Fetched when that room's presence version changes, but at most once per
// MEMBERS_INTERVAL_MS whatever happens, and only the first page: a room of ten thousand
// costs one small request every few seconds, not one per join.
const MEMBERS_INTERVAL_MS = 3000;
const MEMBERS_PAGE = 50;
const members = {room: '', version: '', fetchedAt: -Infinity, timer: 0, inFlight: false};

const watchedRoom = () => (store.current.kind === 'room' ? store.current.name : 'lobby');

function refreshMembers() {
  if (members.timer || members.inFlight) return;  // one is coming: it will see the news
  const wait = members.fetchedAt + MEMBERS_INTERVAL_MS - performance.now();
  if (wait > 0) {
    members.timer = setTimeout(() => {
      members.timer = 0;
      refreshMembers();
    }, wait);
    return;
  }
  fetchMembers();
}

async function fetchMembers() {
  const room = watchedRoom();
  members.inFlight = true;
  members.fetchedAt = performance.now();
  try {
    const path = `/api/rooms/${encodeURIComponent(room)}/members?online=true&limit=${MEMBERS_PAGE}`;
    const answer = await api('GET', path);
    if (room !== watchedRoom()) return;  // the user moved on; a fetch for the new room follows
    members.room = room;
    members.version = answer.presence.version;
    const names = answer.members.map((member) => member.user).filter((name) => name !== me);
    // The user's own name first: they are polling, so they are online.
    view.renderOnline(room, [me, ...names], Number(answer.presence.online));
  } catch (error) {
    // The status indicator already tells about connection trouble.
  } finally {
    members.inFlight = false;
    if (members.room !== watchedRoom()) refreshMembers();
  }
}

// Rooms whose presence changed (from a poll answer).
function receivePresence(rooms) {
  let redraw = false;
  for (const presence of rooms) {
    const conversation = store.conversations.get(roomKey(presence.room));
    if (!conversation) continue;
    if (conversation.setPresence(presence) && conversation === store.current) redraw = true;
    if (presence.room === watchedRoom() && presence.version !== members.version) {
      refreshMembers();
    }
  }
  if (redraw) view.renderMessages();
}

function open(key) {
  if (!store.conversations.has(key)) return;
  store.currentKey = key;
  store.current.unread = 0;
  view.renderSidebar();
  view.renderMessages();
  refreshMembers();
  loadHistory(store.current);
  document.body.classList.remove('sidebar-open');
  $('menu').setAttribute('aria-expanded', 'false');
  $('post').focus();
}

// Messages from the poll loop (or a send's answer), oldest first.
function receive(messages, {initial = false, own = false} = {}) {
  let sidebarChanged = false;
  let redraw = false;
  for (const message of messages) {
    if (message.kind === 'JOIN' && message.from === me && message.room) {
      sidebarChanged = !store.conversations.has(roomKey(message.room)) || sidebarChanged;
    }
    const conversation = store.conversationOf(message);
    if (!conversation) continue;
    const {added, appended} = conversation.add(message);
    if (message.kind === 'LEAVE' && message.from === me) {
      store.removeRoom(message.room);
      sidebarChanged = true;
      redraw = true;
      continue;
    }
    if (!added) continue;
    if (conversation === store.current) {
      if (appended && !redraw) {
        view.appendMessage(message, {own});
      } else {
        redraw = true;
      }
    } else if (isChat(message) && message.from !== me && !initial) {
      conversation.unread += 1;
      sidebarChanged = true;
    } else if (conversation.messages.length === 1) {
      sidebarChanged = true;  // a new direct conversation
    }
  }
  if (sidebarChanged) view.renderSidebar();
  if (redraw) view.renderMessages();
}

const poller = new Poller({
  onMessages: (messages, {initial}) => receive(messages, {initial}),
  onPresence: receivePresence,
  presenceVersions: () => store.presenceVersions(),
  onState: (state) => view.setStatus(state),
  onGap: () => view.banner('Some messages were missed while you were away.'),
  onEpochChange: async (answer) => {
    // The broker kept everything in memory: what it held for this page and had not handed
    // over yet is gone, and so are room histories and every room but #lobby. What the page
    // already shows stays, with a line marking where the loss is.
    view.banner('The chat server restarted and lost what it held: messages to you that had ' +
                'not arrived yet, room histories, and rooms other than #lobby.');
    store.markRestart(new Date().toISOString());
    store.forgetPresence();
    members.version = '';
    await loadRooms();
    view.renderSidebar();
    view.renderMessages();
    receivePresence(answer.presence || []);
    receive(answer.messages, {initial: true});
    loadHistory(store.current);
    refreshMembers();
  },
});

function send() {
  const input = $('post');
  const text = input.value;
  if (!text.trim()) return;
  input.value = '';
  const current = store.current;
  const target = current.kind === 'room' ? {room: current.name} : {to: current.name};
  outbox.send(current.key, target, text);
  input.focus();
}

async function join(room) {
  const error = $('join-error');
  error.textContent = '';
  try {
    await api('POST', `/api/rooms/${encodeURIComponent(room)}/join`);
    store.ensureRoom(room);
    open(roomKey(room));
  } catch (failure) {
    error.textContent = failure.message;
  }
}

async function leave() {
  const current = store.current;
  if (current.kind !== 'room' || current.name === 'lobby') return;
  try {
    await api('POST', `/api/rooms/${encodeURIComponent(current.name)}/leave`);
    store.removeRoom(current.name);
    open(roomKey('lobby'));
  } catch (failure) {
    view.banner(`Could not leave #${current.name}: ${failure.message}`);
  }
}

function wireEvents() {
  $('form').addEventListener('submit', (event) => {
    event.preventDefault();
    send();
  });
  $('join-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const name = $('join-name');
    const room = name.value.trim();
    name.value = '';
    if (room) join(room);
  });
  $('leave').addEventListener('click', leave);
  $('sidebar').addEventListener('click', (event) => {
    const conversation = event.target.closest('button[data-key]');
    if (conversation) open(conversation.dataset.key);
    const person = event.target.closest('button[data-user]');
    if (person) {
      store.ensureDirect(person.dataset.user);
      open(dmKey(person.dataset.user));
    }
  });
  $('message').addEventListener('click', (event) => {
    const retry = event.target.closest('button[data-retry]');
    if (retry) outbox.retry(retry.dataset.retry);
  });
  $('menu').addEventListener('click', () => {
    const opened = document.body.classList.toggle('sidebar-open');
    $('menu').setAttribute('aria-expanded', String(opened));
  });
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && document.body.classList.contains('sidebar-open')) {
      document.body.classList.remove('sidebar-open');
      $('menu').setAttribute('aria-expanded', 'false');
      $('post').focus();
    }
  });
  // Logging out is done only when the broker says so: a 503 is retried, and the page leaves
  // for the login form only after the answer (the form posts to /logout without script).
  document.querySelector('form[action="/logout"]').addEventListener('submit', async (event) => {
    event.preventDefault();
    event.submitter?.setAttribute('disabled', '');
    await persist(() => api('DELETE', '/api/session'));
    poller.stop();
    goToLogin();
  });
  window.addEventListener('online', () => view.setStatus('reconnecting'));
  window.addEventListener('offline', () => view.setStatus('offline'));
  // A closed tab leaves no request behind.
  window.addEventListener('pagehide', () => poller.stop());
}

async function start() {
  wireEvents();
  view.renderSidebar();
  // The queue still holds everything since login (up to its capacity): replaying it from
  // the start restores rooms and direct messages after a reload.
  const session = await persist(() => api('GET', '/api/session'));
  // The app's name for its user, when its token gave one (the chat itself goes by user name).
  if (session.displayName) view.showDisplayName(session.displayName);
  if (session.identity === 'token') signInThroughApp();
  await loadRooms();
  view.renderSidebar();
  await loadHistory(store.current);
  view.renderMessages();
  refreshMembers();
  $('post').focus();
  poller.start('0', session.epoch);
}

start();
