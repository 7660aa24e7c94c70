// What the tab knows: its conversations (rooms and direct messages), each with its messages
// in order and shown once, unread counts, and which one is open. No DOM here.
'use strict';

export const roomKey = (room) => `#${room}`;
export const dmKey = (user) => `@${user}`;
// A closed direct conversation (Store.closeDirect): the name and who held it then.
export const closedKey = (user, holder) => `@${user}~${holder}`;

// Messages that a person wrote (the others are JOIN/LEAVE/SYSTEM notices).
export const isChat = (message) => message.kind === 'CHAT' || message.kind === 'DIRECT';
const isPresenceLine = (message) => message.kind === 'JOIN' || message.kind === 'LEAVE';
// A large room (docs/api.md "Presence"): no JOIN/LEAVE lines, only counts.
export const isLargeRoom = (presence) => Boolean(presence) && presence.mode === 'PRESENCE_MODE_COUNTS';

export class Conversation {
  constructor(kind, name) {
    this.kind = kind;  // 'room' or 'dm'
    this.name = name;  // room name, or the other user's name
    this.key = kind === 'room' ? roomKey(name) : dmKey(name);
    this.messages = [];  // sorted by sentAt, then by arrival
    this.ids = new Set();
    this.unread = 0;
    this.mentions = 0;  // of the unread lines, those naming the reader
    // A direct conversation whose other side logged out (or could not be reached): the next
    // holder of the name is marked as possibly someone new.
    this.partnerGone = false;
    // A direct conversation whose lines are kept for the other side until they sign in.
    this.partnerAway = false;
    // Direct: who holds the name as far as this conversation knows (the other side's holder
    // in its messages: fromHolder of theirs, toHolder of this user's; null until one is seen). Closed: that person logged out and the name is
    // someone else's; a new conversation carries it on (Store.closeDirect).
    this.holder = null;
    this.closed = false;
    // Scroll-back (rooms): `older` is the history position of the next older page, '' when
    // the oldest kept line is shown (`atStart`), null before the first page.
    this.historyLoaded = false;
    this.older = null;
    this.loadingOlder = false;
    // Rooms: {version, members, online, mode} from the poll's presence list; null until known.
    this.presence = null;
  }

  // Adds `message` unless already shown; answers whether it went at the end (the view can
  // then append instead of redrawing). A large room shows no JOIN/LEAVE lines.
  add(message) {
    if (this.ids.has(message.id)) return {added: false, appended: false};
    if (isPresenceLine(message) && isLargeRoom(this.presence)) return {added: false, appended: false};
    this.ids.add(message.id);
    const time = message.sentAt || '';
    let at = this.messages.length;
    while (at > 0 && (this.messages[at - 1].sentAt || '') > time) at -= 1;
    this.messages.splice(at, 0, message);
    return {added: true, appended: at === this.messages.length - 1};
  }

  // How the sidebar, the title and the switcher name it.
  get label() {
    if (this.kind === 'room') return `#${this.name}`;
    return this.closed ? `${this.name} (before)` : this.name;
  }

  get atStart() {
    return this.kind === 'room' && this.historyLoaded && this.older === '';
  }

  // The newest line's time ('' if none): how far the reader has read once it is shown.
  get newestTime() {
    const last = this.messages[this.messages.length - 1];
    return (last && last.sentAt) || '';
  }

  // Takes a room's presence from a poll answer; answers whether the lines on screen changed.
  // A room that became large drops the JOIN/LEAVE lines it showed: their LEAVEs would never
  // come.
  setPresence(presence) {
    this.presence = presence;
    if (!isLargeRoom(presence)) return false;
    const kept = this.messages.filter((message) => !isPresenceLine(message));
    if (kept.length === this.messages.length) return false;
    this.messages = kept;
    return true;
  }
}

// How far the reader has read each conversation, kept per browser (localStorage) so a reload
// or a later visit can mark "new since you left": the sentAt of the newest line seen.
class ReadMarks {
  constructor(me) {
    this.prefix = `parley.read.${me}.`;
  }

  get(key) {
    try {
      return localStorage.getItem(this.prefix + key) || '';
    } catch {
      return '';  // storage off (private mode): nothing is remembered
    }
  }

  set(key, sentAt) {
    if (!sentAt || sentAt <= this.get(key)) return;
    try {
      localStorage.setItem(this.prefix + key, sentAt);
    } catch {
      // storage off or full: the marker just will not show next time
    }
  }
}

export class Store {
  constructor(me) {
    this.me = me;
    this.read = new ReadMarks(me);
    this.conversations = new Map();
    this.currentKey = roomKey('lobby');
    this.ensureRoom('lobby');
  }

  get current() {
    return this.conversations.get(this.currentKey);
  }

  get rooms() {
    return [...this.conversations.values()].filter((c) => c.kind === 'room')
        .sort((a, b) => (a.name === 'lobby' ? -1 : b.name === 'lobby' ? 1 : a.name.localeCompare(b.name)));
  }

  get directs() {
    return [...this.conversations.values()].filter((c) => c.kind === 'dm')
        .sort((a, b) => a.name.localeCompare(b.name));
  }

  ensureRoom(room) {
    const key = roomKey(room);
    if (!this.conversations.has(key)) this.conversations.set(key, new Conversation('room', room));
    return this.conversations.get(key);
  }

  ensureDirect(user) {
    const key = dmKey(user);
    if (!this.conversations.has(key)) this.conversations.set(key, new Conversation('dm', user));
    return this.conversations.get(key);
  }

  removeRoom(room) {
    if (room === 'lobby') return;
    this.conversations.delete(roomKey(room));
    if (this.currentKey === roomKey(room)) this.currentKey = roomKey('lobby');
  }

  // The conversation a polled message belongs to (created if new), or null for notices
  // that belong to none.
  conversationOf(message) {
    if (message.kind === 'DIRECT') {
      // Who the other side is: the holder of their name when it was written (a line from
      // them) or delivered (a line from this user, in this tab or another).
      const partner = message.from === this.me ? message.to : message.from;
      const holder = message.from === this.me ? message.toHolder : message.fromHolder;
      if (!holder) return this.ensureDirect(partner);
      // A line from someone who held the name before (a replay after a reload).
      const before = this.conversations.get(closedKey(partner, holder));
      if (before) return before;
      const conversation = this.ensureDirect(partner);
      if (!conversation.holder) conversation.holder = holder;
      if (conversation.holder === holder) return conversation;
      return this.closeDirect(partner, holder);
    }
    // From the app to this user alone: a conversation with its system sender.
    if (message.kind === 'SYSTEM' && !message.room && message.from) {
      return this.ensureDirect(message.from);
    }
    if (message.room) {
      if (message.kind === 'LEAVE' && message.from === this.me) {
        return this.conversations.get(roomKey(message.room)) || null;
      }
      return this.ensureRoom(message.room);
    }
    return null;
  }

  // "room:version,..." of the rooms whose presence the tab knows (the poll's presence=).
  presenceVersions() {
    return this.rooms.filter((c) => c.presence).map((c) => `${c.name}:${c.presence.version}`)
        .join(',');
  }

  // Presence versions and history positions belong to one broker run: after a restart that
  // lost its state they mean nothing (the rooms' histories start again).
  forgetBrokerState() {
    for (const conversation of this.rooms) {
      conversation.presence = null;
      conversation.historyLoaded = false;
      conversation.older = null;
    }
  }

  // The person the direct conversation with `name` was with logged out and the name is
  // someone else's now (their line came with another holder, or a send to the one before was
  // refused): that conversation is closed and kept, under a key of its own, and a new one with
  // the name begins, for `holder` (null: not known yet). Answers the new conversation.
  closeDirect(name, holder) {
    const before = this.conversations.get(dmKey(name));
    if (before && !before.holder) {  // nobody known to hold it before: this is the one
      before.holder = holder;
      return before;
    }
    if (before) {
      const at = new Date().toISOString();
      this.conversations.delete(before.key);
      before.key = closedKey(name, before.holder);
      before.closed = true;
      before.add({id: `closed-${before.key}`, kind: 'SYSTEM', sentAt: at,
                  text: `${name} logged out, and the name now belongs to someone else. This ` +
                        'conversation is closed: nothing written here reaches anyone.'});
      this.conversations.set(before.key, before);
      if (this.currentKey === dmKey(name)) this.currentKey = before.key;
    }
    const next = new Conversation('dm', name);
    next.holder = holder;
    if (before) {
      next.add({id: `new-holder-${name}-${holder}`, kind: 'SYSTEM', sentAt: '',
                text: `A new person is using the name ${name}: not the one you wrote to before.`});
    }
    this.conversations.set(next.key, next);
    return next;
  }

  // A name's holder came or went (their JOIN or LEAVE of the lobby, which only logging in and
  // out or expiring do): a notice in the direct conversation with them, if there is one, so a
  // later holder of the name is not taken for the person written to before. Answers the
  // conversation changed, or null. The lobby sends these lines only while it is small
  // (docs/api.md "Presence").
  markHolder(message) {
    const conversation = this.conversations.get(dmKey(message.from));
    if (!conversation || message.room !== 'lobby' || message.from === this.me) return null;
    if (message.kind === 'LEAVE') {
      conversation.partnerGone = true;
      conversation.add({id: `gone-${message.id}`, kind: 'SYSTEM', sentAt: message.sentAt,
                        text: `${message.from} logged out. The name is free now: whoever ` +
                              'takes it next is not necessarily the same person.'});
      return conversation;
    }
    if (message.kind === 'JOIN' && conversation.partnerGone) {
      conversation.partnerGone = false;
      conversation.add({id: `back-${message.id}`, kind: 'SYSTEM', sentAt: message.sentAt,
                        text: `Someone logged in as ${message.from}: this may be a new person ` +
                              `using the name. Make sure before sharing anything meant for the ` +
                              'one before.'});
      return conversation;
    }
    return null;
  }

  // Marks a broker restart at `at` in every conversation: a notice line, after which
  // messages that had not arrived before the restart are missing.
  markRestart(at) {
    for (const conversation of this.conversations.values()) {
      conversation.add({id: `restart-${at}`, kind: 'SYSTEM', sentAt: at,
                        text: 'The chat server restarted here: messages that had not ' +
                              'arrived before it are lost.'});
    }
  }
}
