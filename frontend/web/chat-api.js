// Calls to the frontend's JSON API (docs/api.md) and the retry timing every loop shares.
'use strict';

// A failed call: `status` 0 means the request never got an HTTP answer (network down,
// timed out); `retryAfter` is the server's Retry-After in seconds, 0 if none.
export class ApiError extends Error {
  constructor(message, {status = 0, code = 'network', retryAfter = 0} = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }

  // Worth trying again: no answer, a timeout, throttling, or the server side being down.
  get transient() {
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

// One signal that fires when any of `signals` does (AbortSignal.any where available).
function anySignal(signals) {
  const present = signals.filter(Boolean);
  if (AbortSignal.any) return AbortSignal.any(present);
  const controller = new AbortController();
  for (const signal of present) {
    if (signal.aborted) controller.abort(signal.reason);
    signal.addEventListener('abort', () => controller.abort(signal.reason), {once: true});
  }
  return controller.signal;
}

// Where a page whose session is gone goes: the login form, or (for a user the app signed in)
// the app's own sign-in, which /login?from=app leads to when --login_url is set.
let loginPath = '/login';
export function signInThroughApp() { loginPath = '/login?from=app'; }
// Once: a logout and a 401 from a request still in flight would otherwise navigate twice,
// the second aborting the first.
let leaving = false;
export function goToLogin() {
  if (leaving) return;
  leaving = true;
  location.assign(loginPath);
}

// Sends one request and answers the parsed JSON body, or throws ApiError. A 401 means the
// session is gone (logged out elsewhere, expired): the page goes back to where it signs in.
export async function api(method, path, body, {signal, timeoutMs = 15000} = {}) {
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: body ? {'Content-Type': 'application/json'} : {},
      body: body ? JSON.stringify(body) : undefined,
      credentials: 'same-origin',
      cache: 'no-store',
      signal: anySignal([signal, AbortSignal.timeout(timeoutMs)]),
    });
  } catch (error) {
    if (signal && signal.aborted) throw error;  // we stopped it ourselves
    throw new ApiError(error.name === 'TimeoutError' ? 'timed out' : 'network error');
  }
  if (response.status === 401) {
    goToLogin();
    throw new ApiError('logged out', {status: 401, code: 'unauthenticated'});
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new ApiError((data.error && data.error.message) || response.statusText, {
      status: response.status,
      code: (data.error && data.error.code) || 'http_error',
      retryAfter: Number(response.headers.get('Retry-After')) || 0,
    });
  }
  return data;
}

// How long to wait before attempt `failures` + 1: exponential from 0.5 s, capped at 8 s,
// with jitter (so a thousand tabs do not come back in step), and never before Retry-After.
export function backoffMs(failures, retryAfterSeconds = 0) {
  const ceiling = Math.min(8000, 500 * 2 ** Math.max(0, failures - 1));
  const jittered = ceiling * (0.5 + Math.random() / 2);
  return Math.max(jittered, retryAfterSeconds * 1000);
}

// Resolves after `ms`, or at once when `signal` aborts.
export function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    if (signal) {
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      }, {once: true});
    }
  });
}

// A clientId for idempotent sends: unique per tab and message.
export function newClientId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}
