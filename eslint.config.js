// ESLint: the dashboard's browser script (lib/management/dashboard/dashboard.js, served inline under
// a strict CSP) and the repository's build scripts. TypeScript is checked by `tsc`.
import js from '@eslint/js';
import globals from 'globals';

export default [
  {
    files: ['lib/management/dashboard/*.js'],
    ...js.configs.recommended,
    languageOptions: { ecmaVersion: 2020, sourceType: 'script', globals: globals.browser },
    rules: { ...js.configs.recommended.rules, strict: ['error', 'function'], 'no-implicit-globals': 'error', eqeqeq: ['error', 'smart'] },
  },
  {
    files: ['scripts/*.js'],
    ...js.configs.recommended,
    languageOptions: { ecmaVersion: 2024, sourceType: 'module', globals: globals.node },
  },
];
