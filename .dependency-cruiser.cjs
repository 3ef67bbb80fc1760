/** Import rules for lib/ (docs/architecture.md). `npm run check:cycles` fails on any violation. */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Imports point one way: nothing in lib/ may import itself back through a cycle.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'core-stays-below-nest',
      severity: 'error',
      comment: 'The engine (lib/core) imports nothing from the Nest layers above it.',
      from: { path: '^lib/core/' },
      to: { path: '^lib/(module|explorer|interceptors|decorators|registry|management|health|prometheus|redis|config)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.spec\\.ts$' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
