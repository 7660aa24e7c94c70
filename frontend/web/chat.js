// Parley's chat page: one long-poll loop (cursor + epoch) that appends each message once,
// sends without reloading, and shows who is online. Text is always inserted as text.
'use strict';

(() => {
  const user = decodeURIComponent(location.pathname.split('/')[2] || '');
  const list = document.getElementById('message');
  const status = document.getElementById('status');
  const online = document.getElementById('online');
  const form = document.getElementById('form');
  const input = document.getElementById('post');
  let cursor = '0';
  let epoch = '0';
  let failures = 0;
  const shown = new Set();  // message ids: history and polls may overlap

  function setStatus(text, offline) {
    status.textContent = text;
    status.classList.toggle('offline', Boolean(offline));
  }

  function addLine(message) {
    if (message.id) {
      if (shown.has(message.id)) return;
      shown.add(message.id);
    }
    const item = document.createElement('li');
    if (message.kind === 'JOIN' || message.kind === 'LEAVE' || message.kind === 'SYSTEM') {
      item.className = 'notice';
      const verb = message.kind === 'JOIN' ? 'joined' : message.kind === 'LEAVE' ? 'left' : '';
      item.textContent = message.kind === 'SYSTEM' ? message.text
          : `${message.from} ${verb} #${message.room}`;
    } else {
      if (message.from === user) item.classList.add('mine');
      const time = document.createElement('time');
      const sent = message.sentAt ? new Date(message.sentAt) : new Date();
      time.dateTime = sent.toISOString();
      time.textContent = sent.toLocaleTimeString([], {hour: '2-digit', minute: '2-digit'});
      const from = document.createElement('span');
      from.className = 'from';
      from.textContent = message.kind === 'DIRECT' ? `${message.from} → ${message.to}`
          : message.from;
      const text = document.createElement('span');
      text.className = 'text';
      text.textContent = message.text;
      item.append(time, from, text);
    }
    if (message.kind === 'JOIN' || message.kind === 'LEAVE') refreshOnline();
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    list.appendChild(item);
    if (atBottom) list.scrollTop = list.scrollHeight;
  }

  function notice(text) {
    addLine({kind: 'SYSTEM', text});
  }

  async function api(method, path, body) {
    const response = await fetch(path, {
      method,
      headers: body ? {'Content-Type': 'application/json'} : {},
      body: body ? JSON.stringify(body) : undefined,
      credentials: 'same-origin',
    });
    if (response.status === 401) {
      location.href = '/login';
      throw new Error('logged out');
    }
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = new Error((data.error && data.error.message) || response.statusText);
      error.retryAfter = Number(response.headers.get('Retry-After')) || 0;
      throw error;
    }
    return data;
  }

  async function pollLoop() {
    for (;;) {
      try {
        const query = `cursor=${cursor}&epoch=${epoch}&wait=25`;
        const answer = await api('GET', `/api/poll?${query}`);
        if (epoch !== '0' && answer.epoch !== epoch) {
          notice('The chat server restarted; earlier messages may be missing.');
        } else if (answer.gap) {
          notice('Some messages were missed.');
        }
        epoch = answer.epoch;
        answer.messages.forEach(addLine);
        cursor = answer.cursor;
        failures = 0;
        setStatus('connected');
      } catch (error) {
        failures += 1;
        setStatus('reconnecting…', true);
        const backoff = Math.min(30000, 500 * 2 ** Math.min(failures, 6));
        const wait = Math.max(error.retryAfter * 1000 || 0, backoff * (0.5 + Math.random() / 2));
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  async function refreshOnline() {
    try {
      const answer = await api('GET', '/api/rooms/lobby/members');
      online.replaceChildren(...answer.members.filter((m) => m.online).map((m) => {
        const item = document.createElement('li');
        item.textContent = m.user;
        return item;
      }));
    } catch (error) {
      // the poll loop shows the connection state
    }
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const text = input.value;
    if (!text) return;
    input.value = '';
    const clientId = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
    for (let attempt = 0; attempt < 5; attempt += 1) {
      try {
        await api('POST', '/api/messages', {room: 'lobby', text, clientId});
        return;
      } catch (error) {
        if (!error.retryAfter && attempt > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 500 * (attempt + 1)));
      }
    }
    notice('Your message could not be sent.');
  });

  async function start() {
    try {
      const session = await api('GET', '/api/session');
      cursor = session.cursor;
      epoch = session.epoch;
      setStatus('connected');
    } catch (error) {
      // the poll loop starts from the beginning of the queue instead
    }
    try {
      const history = await api('GET', '/api/rooms/lobby/history?limit=50');
      history.messages.forEach(addLine);
    } catch (error) {
      // history is a nicety; the poll loop reports connection problems
    }
    refreshOnline();
    setInterval(refreshOnline, 10000);
    input.focus();
    pollLoop();
  }

  start();
})();
