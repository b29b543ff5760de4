// The test suite's OAuth 2.0 authorization server: oidc-provider (OpenID
// certified, panva/node-oidc-provider) on 127.0.0.1, configured from a JSON
// file, with everything in memory. See README.md in this directory.
//
//   node server.mjs --config FILE [--port N]     (port 0 or absent: a free one)
//
// Prints "oidc-provider listening on http://127.0.0.1:PORT" once it answers;
// SIGTERM or SIGINT stop it (exit status 0).
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';

import Provider, { errors } from 'oidc-provider';

function usage(message) {
  process.stderr.write(`server.mjs: ${message}\nusage: node server.mjs --config FILE [--port N]\n`);
  process.exit(2);
}

const args = { port: '0' };
for (let i = 2; i < process.argv.length; i += 2) {
  const name = process.argv[i];
  const value = process.argv[i + 1];
  if (!['--config', '--port'].includes(name) || value === undefined) usage(`bad argument ${name}`);
  args[name.slice(2)] = value;
}
if (!args.config) usage('--config is required');
const port = Number(args.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) usage(`bad port ${args.port}`);

const config = JSON.parse(fs.readFileSync(args.config, 'utf8'));
const seconds = (name, fallback) => {
  const value = config[name] ?? fallback;
  if (!Number.isInteger(value) || value <= 0) usage(`${name} must be a positive whole number of seconds`);
  return value;
};
const ttl = {
  accessToken: seconds('access_token_ttl', 3600),
  clientCredentials: seconds('client_credentials_ttl', config.access_token_ttl ?? 3600),
  refreshToken: seconds('refresh_token_ttl', 14 * 24 * 3600),
  deviceCode: seconds('device_code_ttl', 600),
};
// RFC 8628 polling: oidc-provider 8 sends no "interval" (so clients poll
// every 5 s) and never "slow_down"; with device_poll_interval set, the
// device authorization response carries it, and a poll of a device code
// sooner than its interval after the previous one is answered slow_down
// instead of authorization_pending, the code's interval growing by 5 s
// (section 3.5).
const devicePollInterval = config.device_poll_interval;
if (devicePollInterval !== undefined && (!Number.isInteger(devicePollInterval) || devicePollInterval <= 0)) {
  usage('device_poll_interval must be a positive whole number of seconds');
}
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const polls = new Map(); // device code -> { last: ms, interval: s }
const accessTokenFormat = config.access_token_format ?? 'opaque';
// random bits in an opaque access token, 6 a character (256: 43
// characters; at most 3072, 512 characters, nanoid's limit). Microsoft's
// tokens run to 2 KB, which a POP3 AUTH line (255 octets) cannot hold.
const bitsOk = (bits) => Number.isInteger(bits) && bits >= 128 && bits <= 3072;
const accessTokenBits = config.access_token_bits ?? 256;
if (!bitsOk(accessTokenBits)) usage('access_token_bits must be a whole number from 128 to 3072');
if (!['opaque', 'jwt'].includes(accessTokenFormat)) usage('access_token_format is "opaque" or "jwt"');

// Resource servers (RFC 8707): the providers encode the API in the scope
// (https://outlook.office.com/IMAP.AccessAsUser.All), and mailroom sends no
// "resource" parameter, so the resource is picked from the requested scopes.
// Access tokens carry only the scopes of their resource server.
const resources = config.resources ?? {
  'https://outlook.office.com': {
    scope: ['IMAP.AccessAsUser.All', 'POP.AccessAsUser.All', 'SMTP.Send']
      .map((s) => `https://outlook.office.com/${s}`).join(' '),
  },
  // Microsoft's app-only (client credentials) scope
  'https://outlook.office365.com': { scope: 'https://outlook.office365.com/.default' },
  'https://mail.google.com': { scope: 'https://mail.google.com/' },
};

function resourceForScope(scope) {
  const requested = new Set((scope ?? '').split(' ').filter(Boolean));
  return Object.keys(resources).find(
    (indicator) => resources[indicator].scope.split(' ').some((s) => requested.has(s)),
  );
}

const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-rs256', alg: 'RS256', use: 'sig' };

const configuration = {
  clients: config.clients ?? [],
  // Metadata of our own: "mailbox", the user name a client-credentials
  // token of this client is good for (Microsoft app-only access: the mailbox
  // is the login name); "access_token_ttl" and "refresh_token_ttl", this
  // client's lifetimes (seconds), and "access_token_bits", instead of the
  // server's.
  extraClientMetadata: {
    properties: ['mailbox', 'access_token_ttl', 'refresh_token_ttl', 'access_token_bits'],
    validator(ctx, key, value) {
      if (value === undefined) return;
      if (key === 'mailbox' && typeof value !== 'string') {
        throw new errors.InvalidClientMetadata('mailbox must be a string');
      }
      if (key === 'access_token_bits' && !bitsOk(value)) {
        throw new errors.InvalidClientMetadata('access_token_bits must be from 128 to 3072');
      }
      if (key !== 'mailbox' && (!Number.isInteger(value) || value <= 0)) {
        throw new errors.InvalidClientMetadata(`${key} must be a positive whole number`);
      }
    },
  },
  jwks: { keys: [signingKey] },
  formats: {
    bitsOfOpaqueRandomness(ctx, token) {
      if (token.kind !== 'AccessToken' && token.kind !== 'ClientCredentials') return 256;
      return ctx?.oidc?.client?.access_token_bits ?? accessTokenBits;
    },
  },
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  // any login name, any password (devInteractions); the account id, and so
  // "sub", is the login name
  async findAccount(ctx, sub) {
    return { accountId: sub, async claims() { return { sub }; } };
  },
  // "username" in every access token (and so in introspection): Dovecot's
  // username_attribute. A user's token names the user; a client-credentials
  // token, which has no "sub", names the client's "mailbox" (else its id).
  async extraTokenClaims(ctx, token) {
    if (token.kind === 'ClientCredentials') {
      const client = await ctx.oidc.provider.Client.find(token.clientId);
      return { username: client?.mailbox ?? token.clientId };
    }
    return token.accountId ? { username: token.accountId } : undefined;
  },
  scopes: ['openid', 'offline_access'],
  responseTypes: ['code', 'none'],
  pkce: { methods: ['S256'], required: () => true },
  rotateRefreshToken: config.rotate_refresh_token ?? true,
  // a refresh token whenever offline_access was granted (and the client may
  // use the refresh_token grant), as at Microsoft and Google
  async issueRefreshToken(ctx, client, code) {
    return client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access');
  },
  ttl: {
    AccessToken: (ctx, token, client) => client?.access_token_ttl ?? ttl.accessToken,
    ClientCredentials: (ctx, token, client) => client?.access_token_ttl ?? ttl.clientCredentials,
    RefreshToken: (ctx, token, client) => client?.refresh_token_ttl ?? ttl.refreshToken,
    DeviceCode: () => ttl.deviceCode,
    AuthorizationCode: () => 60,
    IdToken: () => 3600,
    Interaction: () => 3600,
    Session: () => 24 * 3600,
    Grant: () => Math.max(ttl.refreshToken, 24 * 3600),
  },
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    deviceFlow: { enabled: true },
    introspection: {
      enabled: true,
      // a client learns about its own tokens; a confidential client that
      // issues none (Dovecot, the resource server) about everyone's
      async allowedPolicy(ctx, client, token) {
        return token.clientId === client.clientId
          || (client.clientAuthMethod !== 'none' && client.grantTypes.length === 0);
      },
    },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      async defaultResource(ctx, client, oneOf) {
        const picked = resourceForScope(ctx.oidc.params?.scope);
        if (oneOf) return oneOf.includes(picked) ? picked : oneOf[0];
        return picked;
      },
      // the token endpoint needs no "resource" either
      async useGrantedResource() {
        return true;
      },
      async getResourceServerInfo(ctx, indicator) {
        const rs = resources[indicator];
        if (!rs) throw new errors.InvalidTarget();
        return {
          scope: rs.scope,
          audience: indicator,
          accessTokenFormat,
          ...(accessTokenFormat === 'jwt' ? { jwt: { sign: { alg: 'RS256' } } } : {}),
        };
      },
    },
  },
};

const server = http.createServer();
server.listen(port, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, configuration);

  provider.use(async (ctx, next) => {
    // Microsoft grants offline_access without prompt=consent; oidc-provider
    // (following OpenID Connect) drops it unless consent is prompted for.
    if (ctx.path === '/auth' && ctx.method === 'GET'
        && (ctx.query.scope ?? '').split(' ').includes('offline_access')
        && !(ctx.query.prompt ?? '').split(' ').includes('consent')) {
      ctx.query = { ...ctx.query, prompt: [ctx.query.prompt, 'consent'].filter(Boolean).join(' ') };
    }
    await next();
    if (devicePollInterval && ctx.method === 'POST') pacePolls(ctx);
    // the built-in pages import a web font from Google: nothing leaves 127.0.0.1
    if (typeof ctx.body === 'string' && ctx.response.is('html')) {
      ctx.body = ctx.body.replace(/@import url\(https:\/\/fonts\.googleapis\.com[^)]*\);?/g, '');
    }
  });
  provider.on('server_error', (ctx, err) => process.stderr.write(`server_error: ${err.stack}\n`));
  // one line per token issued, so a test can count what a client asked for
  provider.on('grant.success', (ctx) => process.stdout.write(
    `grant ${ctx.oidc.params.grant_type} ${ctx.oidc.client && ctx.oidc.client.clientId}\n`));

  server.on('request', provider.callback());
  process.stdout.write(`oidc-provider listening on ${issuer}\n`);
});

function pacePolls(ctx) {
  if (ctx.path === '/device/auth' && ctx.status === 200 && ctx.body?.device_code) {
    ctx.body = { ...ctx.body, interval: devicePollInterval };
    polls.set(ctx.body.device_code, { last: 0, interval: devicePollInterval });
  } else if (ctx.path === '/token' && ctx.oidc?.params?.grant_type === DEVICE_GRANT) {
    const poll = polls.get(ctx.oidc.params.device_code);
    if (!poll) return;
    const now = Date.now();
    if (ctx.body?.error === 'authorization_pending' && now - poll.last < poll.interval * 1000) {
      poll.interval += 5;
      ctx.body = { error: 'slow_down', error_description: `poll at most every ${poll.interval} s` };
    }
    poll.last = now;
    if (ctx.status === 200) polls.delete(ctx.oidc.params.device_code);
  }
}

function stop() {
  server.close(() => process.exit(0));
  server.closeAllConnections();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
