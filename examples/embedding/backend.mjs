// An app's backend beside Parley (Node 18+, no packages): it decides who its user is, signs
// a Parley token for them (HS256, the secret Parley has in --jwt_secret_file) and sends them to
// the chat. Run: PARLEY_URL=http://localhost:8080 PARLEY_JWT_SECRET=... node backend.mjs
import {createHmac} from 'node:crypto';
import {createServer} from 'node:http';

const {PARLEY_URL, PARLEY_JWT_SECRET, PORT = '3000'} = process.env;
const part = (object) => Buffer.from(JSON.stringify(object)).toString('base64url');

function parleyToken(user, displayName) {
  const now = Math.floor(Date.now() / 1000);
  const signed = `${part({alg: 'HS256', typ: 'JWT'})}.${part(
      {sub: user, name: displayName, iat: now, exp: now + 3600, aud: 'parley'})}`;
  return `${signed}.${createHmac('sha256', PARLEY_JWT_SECRET).update(signed).digest('base64url')}`;
}

const server = createServer((request, response) => {
  const url = new URL(request.url, 'http://app');
  // Your app's own sign-in decides who this is; the example takes ?user= at its word.
  const user = url.searchParams.get('user');
  if (!user || !/^[A-Za-z0-9_.-]{1,32}$/.test(user)) return response.writeHead(400).end();
  if (url.pathname === '/') {  // the app's page, with a link to its chat
    response.writeHead(200, {'Content-Type': 'text/html'});
    return response.end(`<a id="chat" href="/chat?user=${user}">Open the chat</a>`);
  }
  if (url.pathname !== '/chat') return response.writeHead(404).end();
  const token = encodeURIComponent(parleyToken(user, `${user} (from the app)`));
  response.writeHead(302, {Location: `${PARLEY_URL}/login?token=${token}`}).end();
});
server.listen(Number(PORT), '127.0.0.1', () => console.log(`backend port=${server.address().port}`));
