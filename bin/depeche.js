#!/usr/bin/env node
// The `depeche` command (package.json "bin"). In a clone with its dev dependencies (after
// `npm install`), it runs the TypeScript sources through tsx, so `npx depeche` works at once and
// is never older than the code; where tsx is absent (an install with --omit=dev, the Docker image),
// it runs the build in dist/ (`npm run build`).
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const source = join(root, 'src/cli/main.ts');
const built = join(root, 'dist/src/cli/main.js');

function hasTsx() {
  try {
    require.resolve('tsx/cjs/api', { paths: [root] });
    return true;
  } catch {
    return false;
  }
}

let cli;
if (existsSync(source) && hasTsx()) {
  const { register } = require(require.resolve('tsx/cjs/api', { paths: [root] }));
  register();
  cli = require(source);
} else if (existsSync(built)) {
  cli = require(built);
} else {
  process.stderr.write('depeche: not built yet; run `npm run build` in ' + root + '\n');
  process.exit(2);
}
cli.run().then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write('depeche: ' + String(err && err.message ? err.message : err).split('\n')[0] + '\n');
    process.exitCode = 3;
  },
);
