// Bundles client, server, CLI and tests with esbuild, and copies the tree-sitter wasm files beside them.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
// web-tree-sitter's CommonJS build still reads import.meta.url; give it this bundle's own URL.
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  logLevel: 'warning',
  absWorkingDir: root,
  // jsonc-parser's UMD build hides its modules from the bundler; its ESM build does not.
  mainFields: ['module', 'main'],
  define: { 'import.meta.url': 'importMetaUrl' },
  banner: { js: "const importMetaUrl = require('url').pathToFileURL(__filename).href;" },
};

rmSync(join(root, 'dist'), { recursive: true, force: true });
mkdirSync(join(root, 'dist/wasm'), { recursive: true });
copyFileSync(require.resolve('web-tree-sitter/tree-sitter.wasm'), join(root, 'dist/wasm/tree-sitter.wasm'));
copyFileSync(require.resolve('tree-sitter-c/tree-sitter-c.wasm'), join(root, 'dist/wasm/tree-sitter-c.wasm'));

await Promise.all([
  build({
    ...common,
    entryPoints: { 'client/extension': 'client/src/extension.ts' },
    outdir: 'dist',
    external: ['vscode'],
  }),
  build({
    ...common,
    entryPoints: {
      'server/server': 'server/src/lsp/main.ts',
      'cli/lockpath': 'server/src/cli/main.ts',
      'lib/analysis': 'server/src/analysis/index.ts',
      'lib/index-worker': 'server/src/analysis/index/worker-main.ts',
    },
    outdir: 'dist',
  }),
  build({ ...common, entryPoints: ['test/**/*.test.ts'], outbase: 'test', outdir: 'dist/test', external: ['vscode'] }),
]);
