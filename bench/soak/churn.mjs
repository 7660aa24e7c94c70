// Login churn for the soak: `--rate` times a second a user logs in, looks at its session and
// rooms, and logs out again, cycling through `--users` names. Prints a JSON summary of the
// answers it got (any status but 200 is an error) when `--duration` seconds have passed.
//   node bench/soak/churn.mjs --target=127.0.0.1:8181 --duration=600 --rate=2 --users=200
const args = Object.fromEntries(process.argv.slice(2).map((arg) => {
  const [key, value] = arg.replace(/^--/, '').split('=');
  return [key, value];
}));
const base = `http://${args.target ?? '127.0.0.1:8181'}`;
const durationMs = Number(args.duration ?? 600) * 1000;
const rate = Number(args.rate ?? 2);
const users = Number(args.users ?? 200);

const counts = {cycles: 0, requests: 0, errors: 0};
const errors = {};

async function request(method, path, {token, body} = {}) {
  counts.requests += 1;
  try {
    const headers = {};
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body) headers['Content-Type'] = 'application/json';
    const response = await fetch(`${base}${path}`, {method, headers,
                                                    body: body && JSON.stringify(body)});
    const text = await response.text();
    if (response.status !== 200) {
      counts.errors += 1;
      const key = `${method} ${path} ${response.status}`;
      errors[key] = (errors[key] ?? 0) + 1;
      return null;
    }
    return JSON.parse(text);
  } catch (error) {
    counts.errors += 1;
    const key = `${method} ${path} ${error.cause?.code ?? error.message}`;
    errors[key] = (errors[key] ?? 0) + 1;
    return null;
  }
}

async function cycle(n) {
  const session = await request('POST', '/api/session', {body: {name: `churn${n % users}`}});
  if (!session) return;
  await request('GET', '/api/session', {token: session.token});
  await request('GET', '/api/rooms', {token: session.token});
  await request('DELETE', '/api/session', {token: session.token});
  counts.cycles += 1;
}

const started = Date.now();
const running = new Set();
let n = 0;
// Open loop: one cycle every 1/rate seconds. A name is reused only after `users` cycles, long
// after its previous cycle ended.
while (Date.now() - started < durationMs) {
  const next = started + (n * 1000) / rate;
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - Date.now())));
  const p = cycle(n++);
  running.add(p);
  p.finally(() => running.delete(p));
}
await Promise.all(running);
console.log(JSON.stringify({...counts, errors_by_kind: errors}));
