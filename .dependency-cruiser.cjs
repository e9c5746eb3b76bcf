/**
 * Which way imports point, checked by `npm run lint` (`depcruise src`). Static imports, `import()`
 * and type-only imports all count. A file may import its own folder and the folders listed for it;
 * see README "Development" for what each folder is.
 *
 * commands → services → (api, catalog, portal) → domain → (schemas, jq) → shared → model
 */

/** The src folders (and root files) each src folder may import, besides itself. */
const MAY_IMPORT = {
  model: [],
  'errors.ts': [],
  // oclif flag helpers shared by commands.
  'flags.ts': ['errors.ts'],
  'verify.ts': [],
  shared: ['model'],
  schemas: ['model', 'shared'],
  jq: ['errors.ts', 'model', 'shared'],
  domain: ['jq', 'model', 'schemas', 'shared'],
  // catalog/ takes the API client as a parameter: it imports its type, never the client itself,
  // and reads the client's errors.
  catalog: ['api/errors.ts', 'domain', 'jq', 'model', 'schemas', 'shared'],
  // errors.ts: what the command that opens a portal reports (a SQLite module that does not load).
  portal: ['domain', 'errors.ts', 'jq', 'model', 'schemas', 'shared', 'verify.ts'],
  config: ['errors.ts', 'model', 'shared'],
  api: ['config', 'errors.ts', 'model', 'shared'],
  prompts: ['errors.ts', 'model', 'shared'],
  // Rendering only: io/ calls no services, and reads the catalog's problem type alone.
  io: ['domain', 'errors.ts', 'model', 'shared'],
  hooks: ['errors.ts', 'shared'],
  services: [
    'api',
    'catalog',
    'config',
    'domain',
    'errors.ts',
    'jq',
    'model',
    'portal',
    'prompts',
    'schemas',
    'shared',
    'verify.ts',
  ],
  'base-command.ts': ['api', 'config', 'errors.ts', 'io', 'jq', 'model', 'prompts', 'shared'],
  commands: [
    'api',
    'base-command.ts',
    'catalog',
    'config',
    'domain',
    'errors.ts',
    'flags.ts',
    'io',
    'jq',
    'model',
    'portal',
    'prompts',
    'schemas',
    'services',
    'shared',
  ],
}

/** Imports of a type only, allowed where the value is passed in rather than loaded. */
const TYPE_ONLY = [
  {from: 'catalog', to: 'src/api/port-client[.]ts$'},
  {from: 'io', to: 'src/catalog/types[.]ts$'},
]

/** Packages with one home each: the terminal's (kept out of the portal and the rules) and the heavy ones. */
const PACKAGE_HOMES = {
  '@oclif': '^src/(commands/|hooks/|base-command[.]ts$|flags[.]ts$)',
  '@inquirer': '^src/prompts/',
  'chalk|ora|cli-table3': '^src/io/',
  conf: '^src/config/',
  'ajv|ajv-formats|re2js': '^src/schemas/',
  'jq-wasm': '^src/jq/',
  undici: '^src/api/',
  'better-sqlite3': '^src/portal/store/sqlite/',
  pg: '^src/portal/store/postgres/',
}

/** Within the portal: the wiring (app, server, core, routes) sits on top; the store at the bottom. */
const PORTAL_CAPABILITIES = '(auth|catalog|http|invoke|runs|store|writes)/'

const folder = (name) => (name.endsWith('.ts') ? `src/${name.replace('.', '[.]')}$` : `src/${name}/`)

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'Modules that import each other (at run time or for types) cannot be understood or moved apart.',
      severity: 'error',
      from: {path: '^src/'},
      to: {circular: true},
    },
    ...Object.entries(MAY_IMPORT).map(([name, allowed]) => ({
      name: `${name.replace('.ts', '')}-imports`,
      comment: `src/${name} may import only ${allowed.length > 0 ? allowed.join(', ') : 'itself'} from src.`,
      severity: 'error',
      // The web view (portal/web) is a second front end with rules of its own, below.
      from: {path: `^${folder(name)}`, ...(name === 'portal' ? {pathNot: '^src/portal/web/'} : {})},
      to: {
        path: '^src/',
        pathNot: [
          `^${folder(name)}`,
          ...allowed.map((other) => `^${folder(other)}`),
          ...TYPE_ONLY.filter((allow) => allow.from === name).map((allow) => allow.to),
        ],
      },
    })),
    {
      name: 'portal-web-imports',
      comment:
        'The web view reuses the portal and the services (action forms, history, the catalog graph); no terminal code.',
      severity: 'error',
      from: {path: '^src/portal/web/'},
      to: {
        path: '^src/',
        pathNot: ['^src/portal/', ...[...MAY_IMPORT.portal, 'services'].map((other) => `^${folder(other)}`)],
      },
    },
    ...TYPE_ONLY.map((allow) => ({
      name: `${allow.from}-type-only`,
      comment: `src/${allow.from} imports ${allow.to} for its types only.`,
      severity: 'error',
      from: {path: `^${folder(allow.from)}`},
      to: {path: allow.to, dependencyTypesNot: ['type-only']},
    })),
    ...Object.entries(PACKAGE_HOMES).map(([packages, home]) => ({
      name: `package-home:${packages}`,
      comment: `Only ${home} loads ${packages}.`,
      severity: 'error',
      from: {pathNot: home},
      to: {path: `(^|node_modules/)(${packages})(/|$)`, dependencyTypesNot: ['type-only']},
    })),
    {
      name: 'portal-wiring-on-top',
      comment: 'Portal capabilities do not import the wiring (app, server, core) or the routes.',
      severity: 'error',
      from: {path: `^src/portal/${PORTAL_CAPABILITIES}`},
      to: {path: '^src/portal/(app[.]ts|server[.]ts|core[.]ts|routes/)'},
    },
    {
      name: 'portal-store-at-the-bottom',
      comment: 'The store knows no other portal capability: a second store sits beside store/sqlite.',
      severity: 'error',
      from: {path: '^src/portal/store/'},
      to: {path: `^src/portal/${PORTAL_CAPABILITIES}`, pathNot: '^src/portal/store/'},
    },
    {
      name: 'portal-http-knows-no-capability',
      comment: 'The HTTP layer reads who is calling (auth/access) and the credential type; nothing else.',
      severity: 'error',
      from: {path: '^src/portal/http/'},
      to: {
        path: `^src/portal/${PORTAL_CAPABILITIES}`,
        pathNot: '^src/portal/(http/|auth/access[.]ts$|store/store[.]ts$)',
      },
    },
  ],
  options: {
    tsConfig: {fileName: 'tsconfig.json'},
    tsPreCompilationDeps: true,
    doNotFollow: {path: 'node_modules'},
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    progress: {type: 'none'},
  },
}
