// A real OpenID Connect provider for the tests (the npm package oidc-provider, v9).
//
//   PORT=<free port> node server.mjs
//
// Issuer http://127.0.0.1:<PORT>. What the tests use:
// - dynamic client registration (POST /reg, RFC 7591): each test registers its web
//   client with the redirect URI of its own web app (authorization code + PKCE S256);
// - a tiny login page at /interaction/<uid>: type any e-mail address and press
//   "Log ind" (or "Afbryd", which answers error=access_denied); consent is granted
//   without a page. The account's `sub` is opaque; `email` is the address typed;
// - client-credentials clients with JWT access tokens (RFC 9068) for the resource
//   servers below, requested with `resource=<indicator>` (RFC 8707).
import crypto from 'node:crypto';
import http from 'node:http';

import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
if (!Number.isInteger(port) || port <= 0) {
  console.error('set PORT to a free TCP port');
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;

// Resource servers (APIs) and the scopes each one knows.
export const RESOURCE_SERVERS = {
  'urn:iba:api': 'visitations:write reports:read',
  'urn:other:api': 'visitations:write',
};

function signingKey() {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, kid: crypto.randomBytes(8).toString('hex'), use: 'sig', alg: 'RS256' };
}

const emails = new Map(); // opaque accountId -> e-mail address typed on the login page

function accountIdFor(email) {
  return `acct-${crypto.createHash('sha256').update(email.toLowerCase()).digest('hex').slice(0, 20)}`;
}

const configuration = {
  clients: [
    {
      client_id: 'iba-api-client',
      client_secret: 'iba-api-client-secret',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: 'visitations:write reports:read',
    },
  ],
  jwks: { keys: [signingKey()] },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  scopes: ['openid', 'email', 'profile', 'visitations:write', 'reports:read'],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  conformIdTokenClaims: false, // put the scopes' claims into the ID token, as Entra ID does
  pkce: { required: () => true },
  ttl: { AccessToken: 300, AuthorizationCode: 60, ClientCredentials: 300, IdToken: 300 },
  features: {
    devInteractions: { enabled: false },
    registration: { enabled: true },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (_ctx, _client, oneOf) => oneOf,
      useGrantedResource: async () => false,
      getResourceServerInfo: async (_ctx, resourceIndicator) => {
        const scope = RESOURCE_SERVERS[resourceIndicator];
        if (!scope) throw new Provider.errors.InvalidTarget();
        return {
          scope,
          audience: resourceIndicator,
          accessTokenTTL: 300,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  findAccount: async (_ctx, accountId) => {
    const email = emails.get(accountId);
    if (!email) return undefined;
    return {
      accountId,
      claims: async () => ({ sub: accountId, email, email_verified: true, name: email.split('@')[0] }),
    };
  },
};

const provider = new Provider(issuer, configuration);

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function loginPage(uid) {
  return `<!DOCTYPE html><html lang="da"><head><meta charset="utf-8"><title>Testudbyder · log ind</title></head>
<body><main><h1>Testudbyder</h1>
<form method="post" action="/interaction/${escapeHtml(uid)}/login">
  <label for="email">E-mail</label> <input id="email" name="email" type="email" required autofocus>
  <button type="submit">Log ind</button>
</form>
<form method="post" action="/interaction/${escapeHtml(uid)}/abort"><button type="submit">Afbryd</button></form>
</main></body></html>`;
}

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

async function grantConsent(req, res, details) {
  const { prompt, params, session, grantId } = details;
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
  if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(prompt.details.missingResourceScopes || {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const saved = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId: saved } }, { mergeWithLastSubmission: true });
}

async function interaction(req, res, path) {
  const [, , uid, action] = path.split('/');
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  if (req.method === 'GET' && !action) {
    if (details.prompt.name === 'consent') return grantConsent(req, res, details);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    return res.end(loginPage(uid));
  }
  if (req.method === 'POST' && action === 'login') {
    const email = ((await readForm(req)).get('email') || '').trim();
    const accountId = accountIdFor(email);
    emails.set(accountId, email);
    return provider.interactionFinished(req, res, { login: { accountId } }, { mergeWithLastSubmission: false });
  }
  if (req.method === 'POST' && action === 'abort') {
    return provider.interactionFinished(
      req,
      res,
      { error: 'access_denied', error_description: 'End-User aborted interaction' },
      { mergeWithLastSubmission: false },
    );
  }
  res.writeHead(404).end();
}

const callback = provider.callback();
const server = http.createServer((req, res) => {
  const path = new URL(req.url, issuer).pathname;
  if (path.startsWith('/interaction/')) {
    interaction(req, res, path).catch((err) => {
      console.error('interaction failed:', err.message);
      if (!res.headersSent) res.writeHead(400, { 'content-type': 'text/plain' });
      res.end('interaction failed');
    });
    return;
  }
  callback(req, res);
});

server.listen(port, '127.0.0.1', () => console.log(`oidc-provider listening on ${issuer}`));
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
