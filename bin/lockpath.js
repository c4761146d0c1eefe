#!/usr/bin/env node
// Entry point of the `lockpath` command: the bundled CLI lives in dist/ after `npm run build`.
const path = require('node:path');
const fs = require('node:fs');
const cli = path.join(__dirname, '..', 'dist', 'cli', 'lockpath.js');
if (!fs.existsSync(cli)) {
  process.stderr.write(
    `lockpath: ${cli} is missing; run \`npm ci && npm run build\` in ${path.join(__dirname, '..')} first\n`,
  );
  process.exit(2);
}
require(cli).run();
