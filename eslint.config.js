import js from '@eslint/js'
import globals from 'globals'
import tseslint from 'typescript-eslint'

const SRC_FOLDERS = [
  'actions',
  'api',
  'catalog',
  'commands',
  'config',
  'io',
  'jq',
  'model',
  'portal',
  'prompts',
  'schemas',
  'services',
  'shared',
]
const TERMINAL_PACKAGES = ['@oclif/*', '@inquirer/*', 'chalk', 'ora', 'cli-table3', 'conf']

/** One no-restricted-imports rule per folder: the src folders and packages it may not import. */
function boundaries(rules) {
  return Object.entries(rules).map(([files, banned]) => ({
    files: [files.endsWith('**') ? files.replace(/\*\*$/, '*.ts') : files, files.replace(/\*\*$/, '**/*.ts')],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: banned.map((name) =>
            name.includes('/') || !SRC_FOLDERS.includes(name)
              ? {group: [name], message: `${files} does not load ${name}.`}
              : {group: [`**/${name}/*`, `../${name}/*`], message: `${files} may not import from src/${name}/.`},
          ),
        },
      ],
    },
  }))
}

export default tseslint.config(
  {ignores: ['dist/**', 'coverage/**', 'node_modules/**']},
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {globals: globals.node},
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', {argsIgnorePattern: '^_', varsIgnorePattern: '^_'}],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'error',
    },
  },
  // Dependencies point one way: commands → services → (api, catalog, actions, portal) → model,
  // shared. The portal (a server) loads no terminal code; rendering (io) calls no services.
  ...boundaries({
    'src/model/**': [...SRC_FOLDERS.filter((folder) => folder !== 'model'), ...TERMINAL_PACKAGES],
    'src/shared/**': [...SRC_FOLDERS.filter((folder) => !['model', 'shared'].includes(folder)), ...TERMINAL_PACKAGES],
    'src/portal/**': ['api', 'commands', 'config', 'io', 'prompts', 'services', ...TERMINAL_PACKAGES],
    // The web view is a second front end beside the commands: it reuses the services' domain rules
    // (action forms, history, the catalog graph) so that a page and the CLI say the same things.
    'src/portal/web/**': ['api', 'commands', 'config', 'io', 'prompts', ...TERMINAL_PACKAGES],
    'src/{actions,catalog,jq,schemas}/**': ['commands', 'io', 'prompts', ...TERMINAL_PACKAGES],
    'src/io/**': ['commands', 'portal', 'services', '@oclif/*'],
    'src/services/**': ['commands', '@oclif/*'],
  }),
  {files: ['bench/**', 'bin/**', 'examples/**'], rules: {'no-console': 'off'}},
  // The web view's one script runs in the browser.
  {files: ['src/portal/web/assets/**'], languageOptions: {globals: globals.browser}},
  // Tests read JSON answers loosely; the assertions are the types.
  {files: ['test/**'], rules: {'@typescript-eslint/no-explicit-any': 'off'}},
)
