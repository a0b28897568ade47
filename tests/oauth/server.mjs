// A real OAuth 2.0 authorisation server for the connected-apps tests: oidc-provider (npm, pinned in package.json)
// on 127.0.0.1, on a free port, for the life of one test (tests/common/oauth.rs starts it and kills it).
//
//   node tests/oauth/server.mjs <config.json>
//
// config.json: { "clients": [ClientReg…], "access_ttl_seconds": 3600, "refresh_ttl_seconds": 1209600,
//                "consent": "auto" | "page" }
// ClientReg:   { "client_id", "client_secret", "redirect_uris": [..], "token_endpoint_auth_method"?:
//                "client_secret_basic" | "client_secret_post", "scope"?: "a b" (allow-list; absent: any scope),
//                "rotate_refresh_tokens"?: bool, "token_extras"?: {..} (added to every token answer, e.g.
//                Salesforce's instance_url) }
//
// It prints its port on the first line of stdout once it listens, and exits when stdin closes (the test's
// lifeline, so no server outlives a test that died unannounced). Nothing here needs the network.
//
// What oidc-provider enforces and the tests lean on: the authorization-code grant with PKCE (S256; required for
// every client here, as the hub always sends it), one-time codes bound to the client and redirect URI, refresh
// tokens (issued to every client allowed the refresh_token grant, like Google with access_type=offline), the
// revocation endpoint (RFC 7009; revoking a refresh token ends the whole grant) and introspection (RFC 7662),
// which the provider stand-ins use to check bearer tokens.
//
// Sign-in and consent are the fixed test user's: with "consent": "auto" each interaction finishes at once (a
// test follows the redirects with a cookie-keeping HTTP client); with "page" the interaction shows one page with
// "Allow" and "Deny" buttons for a browser test to click. Test-only controls under /__test/ (loopback only):
//   POST /__test/settings {access_ttl_seconds?, consent?, deny_next?}  — deny_next: the next interaction ends
//        with error=access_denied, as when the user clicks "Cancel" at the provider
//   POST /__test/revoke {token}      — the user removes the app at the provider: the token's whole grant ends
//   POST /__test/revoke {client_id}  — the same for every grant the client was given tokens under (a browser
//        test cannot read the hub's tokens: they are sealed)
//   POST /__test/clients ClientReg   — registers one more client
import * as http from 'node:http';
import { readFileSync } from 'node:fs';
import Provider, { errors } from 'oidc-provider';

const TEST_USER = 'test-user';
const RESOURCE_SERVER = { client_id: 'standin-resource-server', client_secret: 'standin-resource-server-secret' };

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const settings = {
  accessTtl: config.access_ttl_seconds ?? 3600,
  consent: config.consent ?? 'auto',
  denyNext: false,
};
const tokenExtras = new Map();
// Grant ids by client, of every token answer given (for /__test/revoke by client).
const grantsByClient = new Map();
const rotating = new Set();
// Every scope a client asks for is a scope of the one API these tokens are for (oidc-provider's resource
// indicators: the tokens are opaque, with that audience): each real provider has scopes of its own, and a
// client's `scope` allow-list still refuses what it does not list. A request without any scope (Mailchimp's
// has none) gets the scope `default`, as such a provider grants the app its whole access.
const API = 'urn:hub-test:provider-api';
const scopes = new Set(['default']);

function clientMetadata(reg) {
  if (reg.token_extras) tokenExtras.set(reg.client_id, reg.token_extras);
  if (reg.rotate_refresh_tokens) rotating.add(reg.client_id);
  for (const s of (reg.scope ?? '').split(' ').filter(Boolean)) scopes.add(s);
  return {
    client_id: reg.client_id,
    client_secret: reg.client_secret,
    redirect_uris: reg.redirect_uris,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: reg.token_endpoint_auth_method ?? 'client_secret_basic',
    ...(reg.scope ? { scope: reg.scope } : {}),
  };
}

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [
    ...(config.clients ?? []).map(clientMetadata),
    {
      ...RESOURCE_SERVER,
      grant_types: [],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_post',
    },
  ],
  findAccount: async (_ctx, sub) => ({
    accountId: sub,
    claims: async () => ({ sub, email: `${sub}@example.com`, name: 'Test User' }),
  }),
  pkce: { required: () => true },
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: (ctx) => rotating.has(ctx.oidc.entities.Client.clientId),
  ttl: {
    AccessToken: () => settings.accessTtl,
    AuthorizationCode: 60,
    Grant: 14 * 24 * 3600,
    Interaction: 600,
    RefreshToken: config.refresh_ttl_seconds ?? 14 * 24 * 3600,
    Session: 14 * 24 * 3600,
  },
  features: {
    devInteractions: { enabled: false },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => API,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, indicator) => {
        if (indicator !== API) throw new errors.InvalidTarget();
        return { scope: [...scopes].join(' '), accessTokenFormat: 'opaque', audience: API };
      },
    },
  },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  cookies: { keys: ['hub-test-oauth-cookie-key'] },
});
provider.on('server_error', (_ctx, err) => console.error('oauth server error:', err));

// Scopes are learned as they are asked for, and token answers get the client's extras.
provider.use(async (ctx, next) => {
  if (ctx.path === '/auth') {
    const asked = String(ctx.query.scope ?? '').split(' ').filter(Boolean);
    if (asked.length === 0) ctx.query = { ...ctx.query, scope: 'default' };
    for (const s of asked) if (s !== 'openid' && s !== 'offline_access') scopes.add(s);
  }
  await next();
  if (ctx.path === '/token' && ctx.status === 200 && ctx.body?.access_token) {
    const clientId = ctx.oidc?.client?.clientId;
    const issued = await provider.AccessToken.find(ctx.body.access_token);
    if (clientId && issued?.grantId) {
      if (!grantsByClient.has(clientId)) grantsByClient.set(clientId, new Set());
      grantsByClient.get(clientId).add(issued.grantId);
    }
    Object.assign(ctx.body, tokenExtras.get(clientId) ?? {});
  }
});

const callback = provider.callback();

function send(res, status, body, type = 'application/json') {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

async function readJson(req) {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text ? JSON.parse(text) : {};
}

async function readForm(req) {
  let text = '';
  for await (const chunk of req) text += chunk;
  return new URLSearchParams(text);
}

// The result that ends an interaction: sign-in as the test user, or consent to everything asked for.
async function finishInteraction(req, res, allow) {
  const details = await provider.interactionDetails(req, res);
  if (!allow) {
    return provider.interactionFinished(req, res, {
      error: 'access_denied',
      error_description: 'The user denied the request',
    }, { mergeWithLastSubmission: false });
  }
  if (details.prompt.name === 'login') {
    return provider.interactionFinished(req, res, { login: { accountId: TEST_USER } }, {
      mergeWithLastSubmission: false,
    });
  }
  const { prompt: { details: missing }, params, session } = details;
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, list] of Object.entries(missing.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, list.join(' '));
  }
  const grantId = await grant.save();
  return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

function consentPage(uid, details) {
  const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const what = details.prompt.name === 'login' ? 'Sign in as the test user' : 'Allow access';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Test OAuth server</title></head>
<body><main><h1>${escape(what)}</h1>
<p>Client <code>${escape(details.params.client_id)}</code> asks for: <code>${escape(details.params.scope ?? '')}</code></p>
<form method="post" action="/interaction/${escape(uid)}">
<button name="action" value="allow">Allow</button> <button name="action" value="deny">Deny</button>
</form></main></body></html>`;
}

async function interaction(req, res, uid) {
  if (req.method === 'POST') {
    const form = await readForm(req);
    return finishInteraction(req, res, form.get('action') === 'allow');
  }
  if (settings.denyNext) {
    settings.denyNext = false;
    return finishInteraction(req, res, false);
  }
  if (settings.consent === 'page') {
    return send(res, 200, consentPage(uid, await provider.interactionDetails(req, res)), 'text/html; charset=utf-8');
  }
  return finishInteraction(req, res, true);
}

async function admin(req, res, path) {
  const body = await readJson(req);
  switch (path) {
    case '/__test/settings':
      if (body.access_ttl_seconds !== undefined) settings.accessTtl = body.access_ttl_seconds;
      if (body.consent !== undefined) settings.consent = body.consent;
      if (body.deny_next !== undefined) settings.denyNext = body.deny_next;
      return send(res, 200, { access_ttl_seconds: settings.accessTtl, consent: settings.consent });
    case '/__test/revoke': {
      let grants;
      if (body.client_id) {
        grants = [...(grantsByClient.get(body.client_id) ?? [])];
        grantsByClient.delete(body.client_id);
      } else {
        const token = (await provider.RefreshToken.find(body.token)) ?? (await provider.AccessToken.find(body.token));
        grants = token?.grantId ? [token.grantId] : [];
      }
      if (grants.length === 0) return send(res, 404, { error: 'unknown token or client' });
      for (const grantId of grants) {
        await Promise.all([
          provider.AccessToken.revokeByGrantId(grantId),
          provider.RefreshToken.revokeByGrantId(grantId),
          provider.AuthorizationCode.revokeByGrantId(grantId),
          provider.Grant.adapter.destroy(grantId),
        ]);
      }
      return send(res, 200, { revoked_grants: grants });
    }
    case '/__test/clients':
      await provider.Client.adapter.upsert(body.client_id, clientMetadata(body));
      return send(res, 200, { client_id: body.client_id });
    default:
      return send(res, 404, { error: 'unknown test control' });
  }
}

server.on('request', async (req, res) => {
  const path = new URL(req.url, issuer).pathname;
  try {
    const uid = path.match(/^\/interaction\/([^/]+)$/)?.[1];
    if (uid) return await interaction(req, res, uid);
    if (path.startsWith('/__test/') && req.method === 'POST') return await admin(req, res, path);
    return callback(req, res);
  } catch (err) {
    console.error('oauth server:', err);
    if (!res.headersSent) send(res, 500, { error: 'server_error', error_description: String(err.message ?? err) });
  }
});

process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
process.stdin.resume();
process.stdout.write(`${port}\n`);
