// Parley's chat page: wires the long-poll loop, the outbox, the store and the view together
// and answers the user's clicks and keys. docs/ui.md describes the whole client.
'use strict';

import {api, ApiError, backoffMs, goToLogin, signInThroughApp, sleep} from './chat-api.js';
import {mentionsMe} from './chat-format.js';
import {Outbox} from './chat-outbox.js';
import {Poller} from './chat-poller.js';
import {closedKey, dmKey, isChat, roomKey, Store} from './chat-store.js';
import {Switcher} from './chat-switcher.js';
import {View} from './chat-view.js';

const me = decodeURIComponent(location.pathname.split('/')[2] || '');
const NAME = /^[A-Za-z0-9_.-]{1,32}$/;
const store = new Store(me);
const outbox = new Outbox({
  onChange: () => {
    view.renderPending();
    updateConnection();
  },
  onSent: (entry, answer) => {
    // Shown at once from the answer; the same id coming back in a poll is then skipped.
    if (answer.message && answer.message.id) receive([answer.message], {own: true});
    if (answer.held) saidAway(entry);
  },
  onRefused: (entry, error) => handBack(entry, error),
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

// ---- Connection state: the poll loop's, but "reconnecting" too while a poll is overdue or a
// line has waited STUCK_MS for the server (a frozen broker answers nothing at all).
const STUCK_MS = 4000;
let pollState = 'connecting';

function updateConnection() {
  let state = pollState;
  if (state === 'connected' && (poller.overdue() || outbox.oldestWaitMs() > STUCK_MS)) {
    state = 'reconnecting';
  }
  view.setStatus(state);
}

// ---- Rooms and history

async function loadRooms() {
  const answer = await persist(() => api('GET', '/api/rooms'));
  for (const room of answer.rooms) store.ensureRoom(room);
  // Modes first, so the replay below shows no JOIN/LEAVE lines of large rooms.
  for (const presence of answer.presence || []) store.ensureRoom(presence.room).setPresence(presence);
  for (const conversation of store.rooms) {
    if (!answer.rooms.includes(conversation.name)) store.removeRoom(conversation.name);
  }
}

const HISTORY_PAGE = 50;
const historyPath = (conversation, before) =>
  `/api/rooms/${encodeURIComponent(conversation.name)}/history?limit=${HISTORY_PAGE}` +
  (before ? `&before=${encodeURIComponent(before)}` : '');

// The newest page of a room's history (once per conversation).
async function loadHistory(conversation) {
  if (conversation.kind !== 'room' || conversation.historyLoaded) return;
  try {
    const answer = await api('GET', historyPath(conversation));
    conversation.historyLoaded = true;
    conversation.older = answer.older || '';
    for (const message of answer.messages) conversation.add(message);
  } catch (error) {
    // Not fatal: the room still fills from the poll loop; tried again on the next visit.
  }
}

// The page before the oldest line shown; answers whether one came.
async function loadOlder(conversation) {
  if (!conversation.older || conversation.loadingOlder) return false;
  conversation.loadingOlder = true;
  try {
    const answer = await api('GET', historyPath(conversation, conversation.older));
    for (const message of answer.messages) conversation.add(message);
    conversation.older = answer.older || '';
    return true;
  } catch (error) {
    return false;  // the button stays; scrolling up again tries again
  } finally {
    conversation.loadingOlder = false;
  }
}

// Scrolled near the top: the older page goes above, the lines on screen stay put.
async function scrollBack() {
  const conversation = store.current;
  if (!conversation.older || conversation.loadingOlder) return;
  const loading = loadOlder(conversation);
  if (conversation === store.current) view.renderMessages({anchor: 'keep'});
  const loaded = await loading;
  if (conversation !== store.current) return;
  view.renderMessages({anchor: 'keep'});
  if (loaded && $('message').scrollTop < 200) scrollBack();
}

// ---- "New since you left": the first line from someone else after what this browser last
// showed of the conversation. Older pages are loaded until it is on screen (a room with a few
// hundred unread), at most MARKER_PAGES of them.
const MARKER_PAGES = 20;

async function placeMarker(conversation, lastRead) {
  view.marker = null;
  if (!lastRead) return;  // never opened here: everything is new, no line to draw
  for (let pages = 0; pages < MARKER_PAGES; pages += 1) {
    const oldest = conversation.messages[0];
    if (!conversation.older || (oldest && oldest.sentAt <= lastRead)) break;
    if (!(await loadOlder(conversation))) break;
  }
  const first = conversation.messages.find((message) => isChat(message) && message.from !== me &&
                                                       (message.sentAt || '') > lastRead);
  if (first) view.marker = {key: conversation.key, id: first.id};
}

function markRead(conversation) {
  if (document.visibilityState === 'visible') store.read.set(conversation.key, conversation.newestTime);
}

// ---- Who is in the room where the user is looking: the open room, or the lobby in a direct
// conversation. Online members by default, refreshed when that room's presence version moves
// but at most once per MEMBERS_INTERVAL_MS whatever happens (a room of ten thousand costs one
// small request every few seconds, not one per join). A search lists every member whose name
// starts with it; "Show more" pages on by name.
const MEMBERS_INTERVAL_MS = 3000;
const MEMBERS_PAGE = 50;
// `expanded`: the user asked for more than the first page (a search, "Show more"); a presence
// change then updates the count only, and never replaces the list under them.
const members = {room: '', version: '', fetchedAt: -Infinity, timer: 0, inFlight: false,
                 search: '', listed: [], nextAfter: '', count: 0, expanded: false};

const watchedRoom = () => (store.current.kind === 'room' ? store.current.name : 'lobby');

// Every name the members pane has listed in this tab (any room): what Ctrl+K offers.
const KNOWN_PEOPLE_MAX = 5000;
const knownPeople = new Set();

function membersPath(room, after) {
  const query = members.search ? `prefix=${encodeURIComponent(members.search)}` : 'online=true';
  return `/api/rooms/${encodeURIComponent(room)}/members?${query}&limit=${MEMBERS_PAGE}` +
         (after ? `&after=${encodeURIComponent(after)}` : '');
}

function refreshMembers() {
  if (members.timer || members.inFlight) return;  // one is coming: it will see the news
  if (members.expanded && members.room === watchedRoom()) return;
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

async function fetchMembers({after = ''} = {}) {
  // A next page continues the list shown; one for a room no longer watched is dropped.
  const room = after ? members.room : watchedRoom();
  const search = members.search;
  members.inFlight = true;
  if (!after) members.fetchedAt = performance.now();
  try {
    const answer = await api('GET', membersPath(room, after));
    if (room !== watchedRoom() || search !== members.search) return;  // moved on: another follows
    members.room = room;
    members.version = answer.presence.version;
    members.count = Number(answer.presence.online);
    const page = answer.members.filter((member) => member.user !== me);
    for (const member of page) {
      if (knownPeople.size < KNOWN_PEOPLE_MAX) knownPeople.add(member.user);
    }
    members.listed = after ? members.listed.concat(page) : page;
    members.nextAfter = answer.nextAfter || '';
    // The user's own name first when listing who is online: they are polling, so they are.
    const own = !search ? [{user: me, online: true}] : me.startsWith(search) ? [{user: me, online: true}] : [];
    view.renderMembers(room, own.concat(members.listed), members.count,
                       {more: Boolean(members.nextAfter), search, online: !search});
  } catch (error) {
    // The status indicator already tells about connection trouble.
  } finally {
    members.inFlight = false;
    if (members.room !== watchedRoom() || search !== members.search) refreshMembers();
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
      // A list the user expanded is not refetched: its count moves alone. Else the count
      // comes with the names, so the two never disagree.
      if (members.expanded && !members.search) view.renderOnlineCount(Number(presence.online));
      refreshMembers();
    }
  }
  if (redraw) view.renderMessages();
}

// ---- Conversations

async function open(key, {focus = true} = {}) {
  if (!store.conversations.has(key)) return;
  store.currentKey = key;
  const conversation = store.current;
  const lastRead = store.read.get(key);
  const hadUnread = conversation.unread > 0;
  conversation.unread = 0;
  conversation.mentions = 0;
  view.marker = null;
  view.composerError('');
  view.renderSidebar();
  view.renderMessages();
  document.body.classList.remove('sidebar-open');
  $('menu').setAttribute('aria-expanded', 'false');
  if (focus) $('post').focus();
  if (watchedRoom() !== members.room) {
    members.search = '';
    members.expanded = false;
    $('member-prefix').value = '';
    members.listed = [];
    $('members-more').hidden = true;  // it would page on the room being left
    members.fetchedAt = -Infinity;  // the throttle is for presence storms, not for moving
    refreshMembers();
  }
  await loadHistory(conversation);
  if (conversation !== store.current) return;
  if (hadUnread || lastRead) await placeMarker(conversation, lastRead);
  if (conversation !== store.current) return;
  view.renderMessages({anchor: view.marker ? 'marker' : 'bottom'});
  markRead(conversation);
}

// Notifications for direct messages and mentions, when the user asked for them (per browser,
// off by default) and is not looking at that conversation.
const notifyKey = `parley.notify.${me}`;

function notificationsOn() {
  try {
    return 'Notification' in window && Notification.permission === 'granted' &&
           localStorage.getItem(notifyKey) === '1';
  } catch {
    return false;
  }
}

function notify(conversation, message) {
  if (!notificationsOn()) return;
  const title = conversation.kind === 'dm' ? `${message.from} (direct message)`
                                           : `${message.from} in #${conversation.name}`;
  const note = new Notification(title, {body: message.text.slice(0, 200), tag: conversation.key});
  note.addEventListener('click', () => {
    window.focus();
    open(conversation.key);
  });
}

function showNotifySetting() {
  const button = $('notify');
  if (!('Notification' in window)) {
    button.hidden = true;
    return;
  }
  const on = notificationsOn();
  button.setAttribute('aria-pressed', String(on));
  button.textContent = on ? 'Notifications on (click to turn off)'
      : Notification.permission === 'denied' ? 'Notifications are blocked in this browser'
      : 'Notify me of direct messages and mentions';
}

async function toggleNotifications() {
  if (notificationsOn()) {
    localStorage.removeItem(notifyKey);
  } else {
    const permission = Notification.permission === 'granted'
        ? 'granted' : await Notification.requestPermission();
    if (permission === 'granted') localStorage.setItem(notifyKey, '1');
  }
  showNotifySetting();
}

// Messages from the poll loop (or a send's answer), oldest first.
function receive(messages, {initial = false, own = false} = {}) {
  let sidebarChanged = false;
  let redraw = false;
  for (const message of messages) {
    if (message.kind === 'JOIN' && message.from === me && message.room) {
      sidebarChanged = !store.conversations.has(roomKey(message.room)) || sidebarChanged;
    }
    const holder = (message.kind === 'JOIN' || message.kind === 'LEAVE') && store.markHolder(message);
    if (holder && holder === store.current) redraw = true;
    if (holder && holder !== store.current && !initial) sidebarChanged = true;
    const openKey = store.currentKey;
    const conversation = store.conversationOf(message);
    if (store.currentKey !== openKey) {  // the open conversation was closed (a new holder)
      redraw = true;
      sidebarChanged = true;
    }
    if (!conversation) continue;
    const {added, appended} = conversation.add(message);
    if (message.kind === 'LEAVE' && message.from === me) {
      store.removeRoom(message.room);
      sidebarChanged = true;
      redraw = true;
      continue;
    }
    if (!added) continue;
    const fromOther = isChat(message) && message.from !== me;
    if (fromOther && message.kind === 'DIRECT') conversation.partnerAway = false;
    const looking = conversation === store.current && document.visibilityState === 'visible';
    const mention = fromOther && mentionsMe(message.text, me);
    if (fromOther && !initial && !looking && (mention || message.kind === 'DIRECT')) {
      notify(conversation, message);
    }
    if (conversation === store.current) {
      if (appended && !redraw) {
        view.appendMessage(message, {own});
      } else {
        redraw = true;
      }
      if (looking) markRead(conversation);
    } else if (fromOther && (!initial || (message.sentAt || '') > store.read.get(conversation.key))) {
      // Unread; on the replay at start-up only what this browser has not shown before.
      conversation.unread += 1;
      if (mention) conversation.mentions += 1;
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
  onState: (state) => {
    pollState = state;
    updateConnection();
  },
  onGap: () => view.banner('Some messages were missed while you were away.'),
  onEpochChange: async (answer) => {
    // The broker kept everything in memory: what it held for this page and had not handed
    // over yet is gone, and so are room histories and every room but #lobby. What the page
    // already shows stays, with a line marking where the loss is.
    view.banner('The chat server restarted and lost what it held: messages to you that had ' +
                'not arrived yet, room histories, and rooms other than #lobby.');
    store.markRestart(new Date().toISOString());
    store.forgetBrokerState();
    members.version = '';
    await loadRooms();
    view.renderSidebar();
    view.renderMessages();
    receivePresence(answer.presence || []);
    receive(answer.messages, {initial: true});
    await loadHistory(store.current);
    view.renderMessages();
    refreshMembers();
  },
});

// ---- Writing

function send() {
  const input = $('post');
  const text = input.value;
  if (!text.trim()) return;
  if (!view.updateComposer()) {
    view.composerError('This message is too long to send: shorten it first.');
    return;
  }
  const current = store.current;
  if (current.closed) {
    view.composerError(`${current.name} logged out and the name is someone else's now: nothing ` +
                       'written here reaches anyone. Open the new conversation to write to them.');
    return;
  }
  input.value = '';
  view.updateComposer();
  view.composerError('');
  const target = current.kind === 'room' ? {room: current.name}
                 : current.holder ? {to: current.name, toHolder: current.holder} : {to: current.name};
  outbox.send(current.key, target, text);
  input.focus();
}

// A refused line goes back into the box of its conversation, ahead of anything typed since,
// with the reason: the writer edits it (or not) and sends again.
function handBack(entry, error) {
  if (error.status === 401) return;  // the session ended: the page is leaving
  const label = entry.target.room ? `#${entry.target.room}` : entry.target.to;
  let key = entry.key;
  let reason = `Not sent to ${label}: ${error.message}. Your message is back in the box.`;
  if (entry.target.to && error.code === 'recipient_changed') {
    // The person written to logged out and someone else took the name: their conversation is
    // closed, and the text goes back into it (to keep or copy), never into the newcomer's.
    key = closedKey(entry.target.to, entry.target.toHolder);
    if (!store.conversations.has(key)) store.closeDirect(entry.target.to, null);
    reason = `Not sent: ${entry.target.to} logged out and the name is someone else's now. Your ` +
             `message is back in the box; to write to the new ${entry.target.to}, open the new ` +
             'conversation.';
    view.renderSidebar();
  }
  if (store.currentKey !== key && store.conversations.has(key)) open(key);
  const input = $('post');
  input.value = input.value ? `${entry.text}\n${input.value}` : entry.text;
  view.updateComposer();
  view.composerError(reason);
  const conversation = store.conversations.get(key);
  if (entry.target.to && error.status === 404 && conversation) {
    // The name has no holder now (logged out, or gone idle): said in the conversation too.
    conversation.partnerGone = true;
    conversation.add({id: `absent-${entry.clientId}`, kind: 'SYSTEM', sentAt: new Date().toISOString(),
                      text: `${entry.target.to} is not here (logged out or gone a while): messages ` +
                            'cannot reach them now.'});
  }
  if (conversation === store.current) view.renderMessages();
  input.focus();
}

// A direct message kept for someone not signed in now (an app's user: docs/ui.md): said once
// in the conversation, until they write back.
function saidAway(entry) {
  const conversation = store.conversations.get(entry.key);
  if (!conversation || conversation.partnerAway) return;
  conversation.partnerAway = true;
  conversation.add({id: `away-${entry.clientId}`, kind: 'SYSTEM', sentAt: new Date().toISOString(),
                    text: `${entry.target.to} is not signed in: your messages are kept for them ` +
                          'and arrive when they come back.'});
  if (conversation === store.current) view.renderMessages();
}

async function join(room) {
  const error = $('join-error');
  error.textContent = '';
  if (!NAME.test(room)) {
    error.textContent = 'A room name is 1-32 letters, digits, ".", "_" or "-".';
    return;
  }
  if (store.conversations.has(roomKey(room))) {
    open(roomKey(room));
    return;
  }
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

function writeTo(user) {
  if (user === me) return;
  store.ensureDirect(user);
  open(dmKey(user));
}

async function browseRooms() {
  const button = $('browse');
  const list = $('directory');
  if (!list.hidden) {
    list.hidden = true;
    button.setAttribute('aria-expanded', 'false');
    return;
  }
  try {
    const answer = await api('GET', '/api/directory');
    view.renderDirectory(answer.rooms || []);
    button.setAttribute('aria-expanded', 'true');
  } catch (failure) {
    $('join-error').textContent = `Could not list the rooms: ${failure.message}`;
  }
}

// Alt+↑ / Alt+↓: the conversation above or below the open one in the sidebar.
function step(delta) {
  const order = store.rooms.concat(store.directs).map((conversation) => conversation.key);
  const at = order.indexOf(store.currentKey);
  const next = order[(at + delta + order.length) % order.length];
  if (next) open(next, {focus: false});
  $('message').focus();  // the keyboard stays on the conversations, reading
}

const switcher = new Switcher({
  candidates: () => ({
    conversations: store.rooms.concat(store.directs),
    people: [...knownPeople],
  }),
  onPick: (choice) => {
    if (choice.key) open(choice.key);
    else if (choice.room) join(choice.room);
    else if (choice.user) writeTo(choice.user);
  },
});

function wireEvents() {
  const input = $('post');
  $('form').addEventListener('submit', (event) => {
    event.preventDefault();
    send();
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    } else if (event.key === 'PageUp' || event.key === 'PageDown') {
      event.preventDefault();
      const list = $('message');
      list.scrollBy(0, (event.key === 'PageUp' ? -1 : 1) * list.clientHeight * 0.9);
    }
  });
  input.addEventListener('input', () => view.updateComposer());
  $('join-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const name = $('join-name');
    const room = name.value.trim();
    name.value = '';
    if (room) join(room);
  });
  $('dm-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const name = $('dm-name');
    const user = name.value.trim();
    name.value = '';
    if (NAME.test(user)) writeTo(user);
  });
  let searchTimer = 0;
  $('member-prefix').addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      const prefix = $('member-prefix').value.trim();
      members.search = NAME.test(prefix) ? prefix : '';
      members.expanded = Boolean(members.search);
      members.listed = [];
      members.fetchedAt = -Infinity;
      fetchMembers();
    }, 250);
  });
  $('member-search').addEventListener('submit', (event) => event.preventDefault());
  $('members-more').addEventListener('click', () => {
    if (!members.nextAfter) return;
    members.expanded = true;
    fetchMembers({after: members.nextAfter});
  });
  $('browse').addEventListener('click', browseRooms);
  $('notify').addEventListener('click', toggleNotifications);
  $('leave').addEventListener('click', leave);
  $('sidebar').addEventListener('click', (event) => {
    const conversation = event.target.closest('button[data-key]');
    if (conversation) open(conversation.dataset.key);
    const person = event.target.closest('button[data-user]');
    if (person) writeTo(person.dataset.user);
    const room = event.target.closest('button[data-join]');
    if (room) join(room.dataset.join).then(() => { $('directory').hidden = true; });
  });
  $('message').addEventListener('click', (event) => {
    if (event.target.closest('button[data-older]')) scrollBack();
  });
  $('message').addEventListener('scroll', () => {
    if ($('message').scrollTop < 200) scrollBack();
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
    } else if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === 'k') {
      event.preventDefault();
      switcher.show();
    } else if (event.altKey && (event.key === 'ArrowUp' || event.key === 'ArrowDown')) {
      event.preventDefault();
      step(event.key === 'ArrowUp' ? -1 : 1);
    }
  });
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') markRead(store.current);
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
  window.addEventListener('online', () => poller.handlers.onState('reconnecting'));
  window.addEventListener('offline', () => poller.handlers.onState('offline'));
  // A closed tab leaves no request behind.
  window.addEventListener('pagehide', () => poller.stop());
  setInterval(updateConnection, 1000);
}

async function start() {
  wireEvents();
  showNotifySetting();
  view.updateComposer();
  view.renderSidebar();
  // The queue still holds everything since login (up to its capacity): replaying it from
  // the start restores rooms and direct messages after a reload.
  const session = await persist(() => api('GET', '/api/session'));
  // The app's name for its user, when its token gave one (the chat itself goes by user name).
  if (session.displayName) view.showDisplayName(session.displayName);
  if (session.identity === 'token') signInThroughApp();
  await loadRooms();
  const opening = open(store.currentKey);  // reads how far this browser had read, first
  poller.start('0', session.epoch);
  await opening;
}

start();
