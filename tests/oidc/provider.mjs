// A real OpenID provider for the tests: the npm package oidc-provider, on 127.0.0.1, with the clients, accounts
// and keys given in a JSON file (argv[2]). Its one addition is the sign-in step (an interaction in the
// provider's own terms): POST /interaction/<uid>/login with `login=<account id>` signs that account in with the
// `amr` and `acr` its configuration gives; consent is granted by the configuration, as an organisation's own
// provider does for its own applications. With `publish_other_keys`, discovery points at a key set the
// provider does not sign with, as a provider whose keys an attacker swapped would.
import { readFileSync } from 'node:fs';
import * as querystring from 'node:querystring';

import Provider from 'oidc-provider';

const settings = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const issuer = `http://127.0.0.1:${settings.port}`;

const accounts = settings.accounts; // id -> { claims: {...}, amr: [...], acr: "..." }

const configuration = {
  clients: settings.clients,
  jwks: settings.jwks,
  acrValues: settings.acr_values ?? [],
  claims: {
    openid: ['sub', 'acr', 'amr', 'auth_time'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  scopes: ['openid', 'email', 'profile'],
  features: {
    devInteractions: { enabled: false },
  },
  pkce: { required: () => true },
  ttl: {
    AuthorizationCode: settings.code_ttl_seconds ?? 60,
    IdToken: 3600,
    AccessToken: 3600,
    Interaction: 600,
    Session: 3600,
    Grant: 3600,
  },
  cookies: { keys: ['patchwork-tests-only-cookie-key'] },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, id) {
    const account = accounts[id];
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, ...account.claims };
      },
    };
  },
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({
      accountId: ctx.oidc.session.accountId,
      clientId: ctx.oidc.client.clientId,
    });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
  renderError(ctx, out) {
    ctx.type = 'json';
    ctx.body = out;
  },
};

const provider = new Provider(issuer, configuration);
provider.proxy = false;

function readBody(req) {
  return new Promise((resolve, reject) => {
    let data = '';
    req.on('data', (chunk) => { data += chunk; });
    req.on('end', () => resolve(querystring.parse(data)));
    req.on('error', reject);
  });
}

provider.use(async (ctx, next) => {
  const login = ctx.path.match(/^\/interaction\/([^/]+)\/login$/);
  const page = ctx.path.match(/^\/interaction\/([^/]+)$/);
  if (ctx.method === 'GET' && page) {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    ctx.type = 'html';
    ctx.body = `<!doctype html><html lang="en"><head><title>Test provider sign-in</title></head><body><main>
<h1>Test provider</h1><form method="post" action="/interaction/${details.uid}/login">
<label for="login">Account</label><input id="login" name="login" autocomplete="off">
<button type="submit">Sign in</button></form></main></body></html>`;
    return;
  }
  if (ctx.method === 'POST' && login) {
    const body = await readBody(ctx.req);
    const account = accounts[body.login];
    if (!account) {
      ctx.status = 400;
      ctx.body = 'no such test account';
      return;
    }
    const result = { login: { accountId: String(body.login) } };
    if (account.amr) result.login.amr = account.amr;
    if (account.acr) result.login.acr = account.acr;
    await provider.interactionFinished(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
    return;
  }
  if (ctx.method === 'GET' && ctx.path === '/favicon.ico') {
    ctx.status = 204;
    return;
  }
  if (ctx.method === 'GET' && ctx.path === '/other-jwks') {
    ctx.type = 'json';
    ctx.body = settings.other_public_jwks;
    return;
  }
  await next();
  if (settings.publish_other_keys && ctx.path === '/.well-known/openid-configuration' && ctx.body) {
    const body = typeof ctx.body === 'string' ? JSON.parse(ctx.body) : ctx.body;
    ctx.body = { ...body, jwks_uri: `${issuer}/other-jwks` };
  }
});

provider.listen(settings.port, '127.0.0.1', () => {
  process.stdout.write(`listening ${issuer}\n`);
});
