// An app's backend beside Parley (Node 18+, no packages). It decides who its user is, signs a
// Parley token for them (HS256, the secret Parley has in --jwt_secret_file) and links them to
// the chat; and it acts on the chat through Parley's server API (--admin_listen) with its key.
// Run: PARLEY_URL=http://localhost:8080 PARLEY_ADMIN_URL=http://127.0.0.1:8081 \
//      PARLEY_JWT_SECRET=... PARLEY_API_KEY=... node backend.mjs
import {createHmac} from 'node:crypto';
import {createServer} from 'node:http';

const {PARLEY_URL, PARLEY_ADMIN_URL, PARLEY_JWT_SECRET, PARLEY_API_KEY, PORT = '3000'} = process.env;
const part = (object) => Buffer.from(JSON.stringify(object)).toString('base64url');

function parleyToken(user, displayName) {
  const now = Math.floor(Date.now() / 1000);
  const signed = `${part({alg: 'HS256', typ: 'JWT'})}.${part(
      {sub: user, name: displayName, iat: now, exp: now + 3600, aud: 'parley'})}`;
  return `${signed}.${createHmac('sha256', PARLEY_JWT_SECRET).update(signed).digest('base64url')}`;
}

// One call of Parley's server API, e.g. serverApi('POST', '/admin/v1/publish', {...}).
async function serverApi(method, path, body) {
  const answer = await fetch(`${PARLEY_ADMIN_URL}${path}`, {method, body: JSON.stringify(body),
      headers: {'X-API-Key': PARLEY_API_KEY, 'Content-Type': 'application/json'}});
  return {status: answer.status, body: await answer.text()};
}

const server = createServer(async (request, response) => {
  const url = new URL(request.url, 'http://app');
  const query = Object.fromEntries(url.searchParams);
  if (url.pathname === '/team') {  // a private room for some of the app's users
    const {status, body} = await serverApi('POST', '/admin/v1/rooms',
        {name: query.name, private: true, members: query.members.split(',')});
    return response.writeHead(status).end(body);
  }
  if (url.pathname === '/announce') {  // the app speaks in a room, as "app"
    const {status, body} = await serverApi('POST', '/admin/v1/publish',
        {room: query.room, from: 'app', text: query.text});
    return response.writeHead(status).end(body);
  }
  if (url.pathname === '/signin') {  // --login_url: where Parley sends those it will not take
    response.writeHead(200, {'Content-Type': 'text/html'});
    return response.end('<p id="signin">Sign in to the app (this example has no sign-in).</p>');
  }
  // Your app's own sign-in decides who this is; the example takes ?user= at its word.
  const user = query.user;
  if (!/^[A-Za-z0-9_.-]{1,32}$/.test(user || '')) return response.writeHead(400).end();
  if (url.pathname === '/') {  // the app's page, with a link to its chat
    response.writeHead(200, {'Content-Type': 'text/html'});
    return response.end(`<a id="chat" href="/chat?user=${user}">Open the chat</a>`);
  }
  if (url.pathname !== '/chat') return response.writeHead(404).end();
  const token = encodeURIComponent(parleyToken(user, `${user} (from the app)`));
  response.writeHead(302, {Location: `${PARLEY_URL}/login?token=${token}`}).end();
});
server.listen(Number(PORT), '127.0.0.1', () => console.log(`backend port=${server.address().port}`));
