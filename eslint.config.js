import js from '@eslint/js'
import globals from 'globals'
import tseslint from 'typescript-eslint'

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
  // Type-aware, for src only (tests and scripts would double the lint's time): a promise nobody
  // awaits or catches loses its error.
  {
    files: ['src/**/*.ts'],
    languageOptions: {parserOptions: {projectService: true, tsconfigRootDir: import.meta.dirname}},
    rules: {'@typescript-eslint/no-floating-promises': 'error'},
  },
  {files: ['bench/**', 'bin/**', 'examples/**'], rules: {'no-console': 'off'}},
  // The web view's one script runs in the browser.
  {files: ['src/portal/web/assets/**'], languageOptions: {globals: globals.browser}},
  // Tests read JSON answers loosely; the assertions are the types.
  {files: ['test/**'], rules: {'@typescript-eslint/no-explicit-any': 'off'}},
)
