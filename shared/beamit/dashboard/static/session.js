// Sign-in and API calls: the OAuth 2.0 authorization code flow with PKCE (RFC 6749 §4.1,
// RFC 7636) against BeamIt's own authorization server, as a public client.
//
// Tokens live only in this module's variables: never in localStorage, sessionStorage, a
// cookie or the URL. A reload forgets them, and the page signs in again (docs/dashboard.md).
// The one thing kept across the redirect to the sign-in page and back is the pending
// request (state, PKCE verifier, where to return) in sessionStorage, removed as soon as the
// callback reads it: it is single-use and worthless without the code.
// Access tokens last 15 minutes and are refreshed (the refresh token rotates) shortly before
// they expire, or when the API answers 401; a refresh that fails ends the session.

const PENDING = "beamit.dashboard.signin";
const REFRESH_MARGIN_MS = 60_000;

let workspace = null;
let tokens = null; // {access, refresh, expiresAt, scopes}
let refreshing = null;
let refreshTimer = 0;
const endedListeners = [];

export class ApiError extends Error {
  constructor(message, status, type, requestId) {
    super(message);
    this.status = status;
    this.type = type;
    this.requestId = requestId;
  }
}

export class SessionEnded extends Error {}

function base64url(bytes) {
  let text = "";
  for (const byte of new Uint8Array(bytes)) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomString(size) {
  return base64url(crypto.getRandomValues(new Uint8Array(size)));
}

async function s256(verifier) {
  return base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
}

export function currentWorkspace() {
  return workspace;
}

export function signedIn() {
  return tokens !== null;
}

export function scopes() {
  return tokens ? tokens.scopes : new Set();
}

export function has(scope) {
  return scopes().has(scope);
}

export function onSessionEnded(listener) {
  endedListeners.push(listener);
}

export async function loadWorkspace(id) {
  const response = await fetch(`/dashboard/api/workspaces/${encodeURIComponent(id)}`,
    { cache: "no-store", credentials: "omit" });
  if (response.status === 404) {
    throw new ApiError(`There is no workspace "${id}". Check the name with whoever gave you access.`, 404,
      "workspace_not_found");
  }
  if (!response.ok) throw new ApiError("BeamIt could not be reached. Try again in a moment.", response.status);
  workspace = await response.json();
  return workspace;
}

// Leave for the sign-in page; come back to returnTo (a "#/..." route) afterwards.
export async function signIn(returnTo) {
  const verifier = randomString(48);
  const state = randomString(24);
  sessionStorage.setItem(PENDING, JSON.stringify({ state, verifier, workspace: workspace.id, returnTo }));
  const query = new URLSearchParams({
    response_type: "code",
    client_id: workspace.clientId,
    redirect_uri: workspace.redirectUri,
    scope: workspace.scopes.join(" "),
    state,
    code_challenge: await s256(verifier),
    code_challenge_method: "S256",
  });
  location.assign(`${workspace.authorizationEndpoint}?${query}`);
}

const DENIED = "You chose not to allow the dashboard to use your account, so you are not signed in.";
const FOREIGN = "This sign-in did not start in this browser tab (or was already used), so it was not accepted. " +
  "Sign in again from the dashboard.";

// The redirect back from the sign-in page: check state, redeem the code with the verifier.
export async function completeSignIn(params) {
  const pending = JSON.parse(sessionStorage.getItem(PENDING) || "null");
  sessionStorage.removeItem(PENDING);
  if (!pending || !params.get("state") || params.get("state") !== pending.state) {
    throw new ApiError(FOREIGN, 400, "state_mismatch");
  }
  await loadWorkspace(pending.workspace);
  if (params.get("error")) {
    const message = params.get("error") === "access_denied" ? DENIED
      : `Sign-in failed: ${params.get("error_description") || params.get("error")}.`;
    throw new ApiError(message, 400, params.get("error"));
  }
  await tokenRequest({
    grant_type: "authorization_code",
    code: params.get("code") || "",
    redirect_uri: workspace.redirectUri,
    code_verifier: pending.verifier,
  });
  return pending;
}

async function tokenRequest(fields) {
  const response = await fetch(workspace.tokenEndpoint, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ ...fields, client_id: workspace.clientId }),
    cache: "no-store",
    credentials: "omit",
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new ApiError(body.error_description || "Sign-in was not accepted.", response.status, body.error);
  }
  tokens = {
    access: body.access_token,
    refresh: body.refresh_token,
    expiresAt: Date.now() + body.expires_in * 1000,
    scopes: new Set((body.scope || "").split(" ").filter(Boolean)),
  };
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => refresh().catch(() => {}),
    Math.max(5_000, body.expires_in * 1000 - REFRESH_MARGIN_MS));
}

function endSession(message) {
  clearTimeout(refreshTimer);
  tokens = null;
  for (const listener of endedListeners) listener(message);
}

// One refresh at a time: a refresh token is single-use, and using one twice revokes the grant.
function refresh() {
  if (!tokens) return Promise.reject(new SessionEnded());
  if (!refreshing) {
    const used = tokens.refresh;
    refreshing = tokenRequest({ grant_type: "refresh_token", refresh_token: used })
      .catch((error) => {
        if (error instanceof ApiError && error.status >= 400 && error.status < 500) {
          endSession("Your session has ended (it expired, or it was signed out elsewhere). Sign in again to go on.");
          throw new SessionEnded();
        }
        throw error;
      })
      .finally(() => { refreshing = null; });
  }
  return refreshing;
}

async function send(method, path, options) {
  const headers = { Authorization: `Bearer ${tokens.access}`, ...(options.headers || {}) };
  let body = options.body;
  if (body !== undefined && !(body instanceof Blob)) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(body);
  }
  // No cookies go with API calls: the bearer token is the only credential (why no CSRF token is needed).
  return fetch(path, { method, headers, body, cache: "no-store", credentials: "omit", redirect: "error" });
}

// A call to the BeamIt API with the access token; one refresh and retry on 401.
export async function api(method, path, options = {}) {
  if (!tokens) throw new SessionEnded();
  if (Date.now() > tokens.expiresAt - 5_000) await refresh();
  let response;
  try {
    response = await send(method, path, options);
    if (response.status === 401) {
      await refresh();
      response = await send(method, path, options);
      if (response.status === 401) {
        endSession("Your session has ended. Sign in again to go on.");
        throw new SessionEnded();
      }
    }
  } catch (error) {
    if (error instanceof SessionEnded || error instanceof ApiError) throw error;
    throw new ApiError("No connection to BeamIt. Check your network and try again.", 0, "network");
  }
  return response;
}

const PLAIN = {
  403: "Your role does not allow this.",
  404: "Not found. It may have been deleted, or it belongs to another workspace.",
  429: "Too many requests just now. Wait a moment and try again.",
};

export async function errorFrom(response) {
  const body = await response.json().catch(() => ({}));
  const error = body.error || {};
  let message = error.message || PLAIN[response.status] || "Something went wrong.";
  if (response.status === 403) message = `${PLAIN[403]} (${error.message || "missing scope"})`;
  if (response.status === 404 && !error.message) message = PLAIN[404];
  if (response.status >= 500) message = "Something went wrong on BeamIt's side. Try again in a moment.";
  return new ApiError(message, response.status, error.type, error.requestId || response.headers.get("X-Request-Id"));
}

// JSON in, JSON out; a non-2xx answer becomes an ApiError with the server's plain message.
export async function apiJson(method, path, body, headers) {
  const response = await api(method, path, { body, headers });
  if (!response.ok) throw await errorFrom(response);
  return response.status === 204 ? null : response.json();
}

// Sign out: revoke the refresh token, which ends its whole grant (RFC 7009), then forget
// the tokens. "Signed out" is shown once BeamIt has confirmed it.
export async function signOut() {
  const held = tokens;
  if (!held) return endSession(null);
  clearTimeout(refreshTimer);
  const response = await fetch(workspace.revocationEndpoint, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token: held.refresh, token_type_hint: "refresh_token", client_id: workspace.clientId }),
    cache: "no-store",
    credentials: "omit",
  }).catch(() => null);
  endSession(response && response.ok ? null : "This browser forgot your session, but BeamIt could not be reached to " +
    "end it. Nothing here can use it any more; sign in again, then sign out, to end it everywhere.");
}
