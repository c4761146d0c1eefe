// `npm test` runs this first: it installs what the end-to-end tests drive (scripts/setup-editors.sh: Debian's
// neovim, emacs + eglot, chromium, and code-server in ~/.cache/lockpath/editors). Idempotent: about a second when
// everything is there. When apt or the npm registry cannot be reached it says so plainly and lets the tests run:
// the unit tests still count, and each e2e test then fails by name, saying what is missing.
// LOCKPATH_SKIP_EDITOR_SETUP=1 skips it (e.g. a machine where the editors are installed some other way).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const script = join(dirname(fileURLToPath(import.meta.url)), 'setup-editors.sh');
if (process.env.LOCKPATH_SKIP_EDITOR_SETUP === '1') {
  console.error('pretest: LOCKPATH_SKIP_EDITOR_SETUP=1: not installing the editors the e2e tests drive');
  process.exit(0);
}
const started = Date.now();
const r = spawnSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const log = `${r.stderr ?? ''}${r.error ? `\n${r.error.message}` : ''}`;
if (r.status === 0) {
  if (log.trim()) process.stderr.write(log);
  console.error(`pretest: the e2e editors are installed (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  process.exit(0);
}
process.stderr.write(log);
const offline =
  /ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNREFUSED|ECONNRESET|network|Could not resolve|Temporary failure|Failed to fetch|Unable to fetch/i.test(
    log,
  );
const why = offline
  ? 'a package registry (apt or the npm registry) could not be reached'
  : `scripts/setup-editors.sh failed (exit ${r.status ?? r.signal})`;
console.error(
  [
    '',
    `pretest: WARNING: ${why}; the editors the e2e tests drive (code-server, chromium, neovim, emacs + eglot) may be missing.`,
    'pretest: the tests run anyway: every e2e test whose editor is missing fails by name and says what to install.',
    'pretest: fix the network (or run as root with apt available), then `bash scripts/setup-editors.sh`; or set LOCKPATH_SKIP_EDITOR_SETUP=1.',
    '',
  ].join('\n'),
);
process.exit(0);
