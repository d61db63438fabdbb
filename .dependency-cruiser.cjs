// The layering of the house, checked on every `npm test` (npm run lint:layers).
// docs/architecture.md draws it. Each rule is named for the reason it exists.
//
// Units: apps/<app>/src, libs/<lib>/src, projections/<read side part>, test, bench.
// Layers, one way only:
//   apps → api, runtime → read side (projections/*) and domain → base
//   domain: notification → session → user;  auth → org → user
//   base:   kernel, access, consumer, eventstore, database, crypto, errors, config, logging, metrics
const BASE = '^libs/(kernel|access|consumer|eventstore|database|crypto|errors|config|logging|metrics)/';
const DOMAIN = '^libs/(user|session|org|auth|notification)/';
const READ_SIDE = '^projections/';
const TESTS = '(\\.spec\\.ts|\\.e2e\\.ts)$|/testing/|^libs/test-kit/|^test/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'one-way-layers-base-knows-no-domain',
      comment:
        'The base (kernel, stores, crypto, errors, …) is what every domain builds on; if it imported a domain, ' +
        'a change in one domain could break all of them, and the units would form a cycle.',
      severity: 'error',
      from: { path: BASE, pathNot: TESTS },
      to: { path: [DOMAIN, READ_SIDE, '^libs/(api|runtime)/', '^apps/'] },
    },
    {
      name: 'domain-knows-no-transport',
      comment:
        'Commands and rules must work the same from REST, gRPC, Connect, the CLI and the internal command bus; ' +
        'a domain that imports the transport or an app can only be called one way.',
      severity: 'error',
      from: { path: [DOMAIN, READ_SIDE], pathNot: TESTS },
      to: { path: ['^libs/(api|runtime)/', '^apps/'] },
    },
    {
      name: 'domain-never-reads-the-read-side',
      comment:
        'Decisions are taken on the event streams (the truth); the read model lags behind them and can be ' +
        'rebuilt at any time, so a command that read it could decide on stale or missing data.',
      severity: 'error',
      from: { path: DOMAIN, pathNot: TESTS },
      to: { path: READ_SIDE },
    },
    {
      name: 'read-side-sees-only-event-types',
      comment:
        'Projections reduce events into tables; they may know what the events look like, never run commands ' +
        '(a replay would then write events).',
      severity: 'error',
      from: { path: READ_SIDE, pathNot: TESTS },
      to: { path: DOMAIN, pathNot: '^libs/[^/]+/src/events\\.ts$' },
    },
    {
      name: 'domain-order-user-is-the-bottom',
      comment: 'Users are what sessions, organizations and callers are about; the user domain depends on none of them.',
      severity: 'error',
      from: { path: '^libs/user/', pathNot: TESTS },
      to: { path: '^libs/(session|org|auth|notification)/' },
    },
    {
      name: 'domain-order-org-below-auth',
      comment: 'Organizations and machine users exist without the authenticator; the authenticator reads them.',
      severity: 'error',
      from: { path: '^libs/org/', pathNot: TESTS },
      to: { path: '^libs/(session|auth|notification)/' },
    },
    {
      name: 'domain-order-session-below-notification',
      comment: 'Sessions decide what is sent; the notifier delivers it. A session never waits for a mail.',
      severity: 'error',
      from: { path: '^libs/session/', pathNot: TESTS },
      to: { path: '^libs/(org|auth|notification)/' },
    },
    {
      name: 'domain-order-auth-and-notification-are-leaves',
      comment: 'The authenticator and the notifier sit on top of the domain; nothing in the domain calls them.',
      severity: 'error',
      from: { path: '^libs/(auth|notification)/', pathNot: TESTS },
      to: { path: '^libs/(auth|notification)/', pathNot: '^libs/$1/' },
    },
    {
      name: 'cli-does-not-reach-into-the-server',
      comment:
        'The CLI runs where no server runs (on the database directly); what both need lives in libs/runtime, ' +
        'so changing the server cannot break the CLI.',
      severity: 'error',
      from: { path: '^apps/cli/', pathNot: TESTS },
      to: { path: '^apps/server/' },
    },
    {
      name: 'only-the-public-entry-across-units',
      comment:
        "A unit's index.ts is its API; a relative import into another unit's files couples to its insides " +
        "and bypasses that API. Import it by name ('#user'), never by '../'.",
      severity: 'error',
      from: { path: '^(libs|apps|projections)/([^/]+)/' },
      to: { dependencyTypes: ['local'], dependencyTypesNot: ['aliased-subpath-import'], pathNot: '^$1/$2/' },
    },
    {
      name: 'production-code-does-not-import-tests',
      comment: 'Test doubles and fixtures must never run in production.',
      severity: 'error',
      from: { path: '^(libs|apps|projections)/', pathNot: TESTS },
      to: { path: TESTS },
    },
    {
      name: 'no-cycles',
      comment: 'A cycle makes both ends one unit in disguise: neither can be understood, tested or changed alone.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      // The "source" condition of package.json "imports": the TypeScript entry of each unit.
      conditionNames: ['source', 'import', 'node', 'default'],
      extensions: ['.ts', '.js'],
    },
  },
};
