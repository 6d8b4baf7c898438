// A real OpenID provider (panva's oidc-provider, certified) for idtrace's
// tests: internal/analyze's peer test starts it with `node server.js PORT`
// (or PORT=... node server.js), waits for the line "ready", drives sign-ins
// against it and analyses the recorded trace.
//
// Listens on 127.0.0.1 only. Every client, secret and account is a test
// fixture: nothing here is a real credential.
import Provider from 'oidc-provider';

const port = Number(process.argv[2] || process.env.PORT || 0);
const redirect = process.env.REDIRECT_URI || 'http://127.0.0.1:9/cb';
const issuer = `http://127.0.0.1:${port}`;

const configuration = {
  clients: [
    { // a public client (SPA / native) using the code flow with PKCE
      client_id: 'public-pkce',
      token_endpoint_auth_method: 'none',
      redirect_uris: [redirect],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    },
    { // a confidential web app: code and hybrid (code id_token) with form_post
      client_id: 'web-app',
      // native: oidc-provider allows http loopback redirect URIs with the
      // hybrid flow only for native clients (web clients need https).
      application_type: 'native',
      client_secret: 'web-app-secret-for-tests-only',
      token_endpoint_auth_method: 'client_secret_basic',
      redirect_uris: [redirect],
      grant_types: ['authorization_code', 'implicit', 'refresh_token'],
      response_types: ['code', 'code id_token'],
    },
    { // a confidential app whose codes expire after 1 second (the expired-code test)
      client_id: 'slow-app',
      client_secret: 'slow-app-secret-for-tests-only',
      token_endpoint_auth_method: 'client_secret_basic',
      application_type: 'native',
      redirect_uris: [redirect],
      grant_types: ['authorization_code'],
      response_types: ['code'],
    },
    { // a daemon: client credentials with client_secret_post
      client_id: 'daemon',
      client_secret: 'daemon-secret-for-tests-only',
      token_endpoint_auth_method: 'client_secret_post',
      redirect_uris: [],
      grant_types: ['client_credentials'],
      response_types: [],
    },
    { // a device (TV, CLI): the device authorization grant
      client_id: 'device-app',
      token_endpoint_auth_method: 'none',
      redirect_uris: [],
      grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
      response_types: [],
    },
  ],
  scopes: ['openid', 'offline_access', 'email', 'api:read'],
  claims: { email: ['email'] },
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    deviceFlow: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => 'urn:example:api',
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({ scope: 'api:read', audience: 'urn:example:api', accessTokenFormat: 'jwt', accessTokenTTL: 600 }),
    },
  },
  // Codes of slow-app live 1 second, so the test can present an expired one.
  ttl: {
    AuthorizationCode: (ctx, token, client) => (client && client.clientId === 'slow-app' ? 1 : 60),
    DeviceCode: 600,
    IdToken: 3600,
    AccessToken: 600,
    RefreshToken: 86400,
    Interaction: 600,
    Session: 3600,
    Grant: 3600,
  },
  findAccount: async (ctx, sub) => ({
    accountId: sub,
    claims: async () => ({ sub, email: `${sub}@example.test` }),
  }),
  loadExistingGrant: async (ctx) => {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    return grantId ? ctx.oidc.provider.Grant.find(grantId) : undefined;
  },
};

const provider = new Provider(issuer, configuration);
provider.proxy = false;
const server = provider.listen(port, '127.0.0.1', () => {
  console.log(`ready ${server.address().port}`);
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => server.close(() => process.exit(0)));
