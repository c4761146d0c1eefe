// A model file over a limit (nesting, size, entries) given to the command: exit 2 with one line naming the file,
// line and column and the limit; no stack trace.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { exampleDir, repoRoot } from '../helpers';

/** Hook entries, one a line after `{ "hooks": [` on line 1 (as test/analysis/model.test.ts makes them). */
const manyHooks = (n: number): string =>
  `{ "hooks": [\n${Array.from({ length: n }, (_, i) => `  { "function": "hook_${i}", "context": "vm-ioctl" }`).join(',\n')}\n] }\n`;

const dir = mkdtempSync(join(tmpdir(), 'lockpath-model-limits-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function checkWithModel(name: string, text: string): { code: number; err: string } {
  const model = join(dir, name);
  writeFileSync(model, text);
  const r = spawnSync(
    process.execPath,
    [join(repoRoot, 'bin', 'lockpath.js'), 'check', '--no-cache', '--model', model, exampleDir],
    { encoding: 'utf8', timeout: 120_000 },
  );
  return { code: r.status ?? -1, err: r.stderr };
}

describe('lockpath check --model over a limit', () => {
  it('nested 20 000 deep: exit 2, the place and the limit', () => {
    const r = checkWithModel('deep.json', `{"hooks": ${'['.repeat(20_000)}${']'.repeat(20_000)}}`);
    assert.equal(r.code, 2, r.err);
    assert.equal(
      r.err,
      `lockpath: ${join(dir, 'deep.json')}:1:42: lockpath model file: nested more than 32 levels deep (limit 32)\n`,
    );
  });

  it('200 000 hooks and 1 001 hooks: exit 2 at once, the place and the limit', () => {
    const big = manyHooks(200_000);
    const r = checkWithModel('big.json', big);
    assert.equal(r.code, 2, r.err);
    assert.equal(
      r.err,
      `lockpath: ${join(dir, 'big.json')}:19268:44: lockpath model file: ${big.length} characters is over the limit of 1048576\n`,
    );
    const many = checkWithModel('many.json', manyHooks(1001));
    assert.equal(many.code, 2, many.err);
    assert.equal(
      many.err,
      `lockpath: ${join(dir, 'many.json')}:1002:3: lockpath model file: "hooks" has more than 1000 entries (limit 1000)\n`,
    );
  });
});
