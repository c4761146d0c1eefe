// Folder walks never abort the run: link loops and unreadable folders are skipped with a note (and make a run
// over them incomplete when they are in scope), names with newlines are read, and globs are picomatch's, bounded.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { collectSources, globToRegExp, GlobError, usableGlobs } from '../../server/src/files/collect';
import { exampleDir, repoRoot, scratchDir } from '../helpers';

const bin = join(repoRoot, 'bin', 'lockpath.js');

function lockpath(
  args: string[],
  options: { uid?: number; gid?: number } = {},
): { code: number; out: string; err: string; ms: number } {
  const started = Date.now();
  const r = spawnSync(process.execPath, [bin, '--no-cache', ...args], {
    cwd: tmpdir(),
    encoding: 'utf8',
    timeout: 120_000,
    ...options,
  });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr, ms: Date.now() - started };
}

/** A kernel-looking tree (a Makefile and virt/kvm) holding the example's KVM files. */
function kernelTree(): string {
  const dir = scratchDir('lockpath-kernel-');
  cpSync(exampleDir, dir, { recursive: true });
  writeFileSync(join(dir, 'Makefile'), '# kernel\n');
  return dir;
}

describe('folder walks', () => {
  it('a link loop inside the KVM scope is skipped with a note naming it; the run is incomplete (exit 3 without races)', () => {
    const dir = kernelTree();
    symlinkSync('..', join(dir, 'virt', 'kvm', 'arm', 'up'));
    // Outside the KVM folders a loop is not even walked into: no note, nothing incomplete.
    mkdirSync(join(dir, 'tools'));
    symlinkSync('..', join(dir, 'tools', 'loop'));
    const c = collectSources(dir);
    assert.deepEqual(c.skipped, [{ file: 'virt/kvm/arm/up', reason: 'link loops back to virt/kvm' }]);
    assert.equal(c.files.filter((f) => f.endsWith('mmu.c')).length, 1, 'files are read once');
    const r = lockpath(['--json', dir]);
    assert.equal(r.code, 1, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.findings.length, 3, 'the run went on');
    assert.deepEqual(
      j.incomplete.filter((x: { kind: string }) => x.kind === 'skipped'),
      [{ kind: 'skipped', file: 'virt/kvm/arm/up', reason: 'link loops back to virt/kvm' }],
    );
    // The same tree with the races fixed away (only the free path and a guarded walker): exit 3, not 0.
    const clean = scratchDir('lockpath-loop-clean-');
    mkdirSync(join(clean, 'virt', 'kvm', 'arm'), { recursive: true });
    writeFileSync(join(clean, 'Makefile'), '# kernel\n');
    writeFileSync(join(clean, 'virt', 'kvm', 'arm', 'mmu.c'), 'int add_one(int x)\n{\n\treturn x + 1;\n}\n');
    symlinkSync('..', join(clean, 'virt', 'kvm', 'arm', 'up'));
    const t = lockpath([clean]);
    assert.equal(t.code, 3, t.out + t.err);
    assert.match(t.out, /^ {2}skipped virt\/kvm\/arm\/up: link loops back to virt\/kvm$/m);
  });

  it('an unreadable folder is skipped with a note, not fatal', () => {
    const dir = scratchDir('lockpath-unreadable-');
    cpSync(exampleDir, dir, { recursive: true });
    mkdirSync(join(dir, 'virt', 'kvm', 'secret'));
    writeFileSync(join(dir, 'virt', 'kvm', 'secret', 'x.c'), 'int x;\n');
    chmodSync(join(dir, 'virt', 'kvm', 'secret'), 0o000);
    try {
      // Root reads any folder: run the command as nobody then (the tree must be readable to it).
      const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
      if (asNobody.uid) chmodSync(dir, 0o755);
      const r = lockpath(['--json', dir], asNobody);
      assert.equal(r.code, 1, r.err);
      const j = JSON.parse(r.out);
      assert.equal(j.findings.length, 3);
      assert.ok(
        j.incomplete.some(
          (x: { kind: string; file: string; reason: string }) =>
            x.kind === 'skipped' && x.file === 'virt/kvm/secret' && /unreadable folder/.test(x.reason),
        ),
        JSON.stringify(j.incomplete),
      );
    } finally {
      chmodSync(join(dir, 'virt', 'kvm', 'secret'), 0o755);
    }
  });

  it('a file whose name holds a newline is read', () => {
    const dir = scratchDir('lockpath-newline-');
    const name = 'odd\nname.c';
    writeFileSync(join(dir, name), readFileSync(join(exampleDir, 'virt', 'kvm', 'arm', 'mmu.c')));
    assert.deepEqual(collectSources(dir).files, [name]);
    assert.deepEqual(collectSources(dir, { include: ['*.c'] }).files, [name]);
    const j = JSON.parse(lockpath(['--json', dir]).out);
    assert.deepEqual(j.files, [name]);
    assert.ok(j.summary.functions > 10);
  });
});

describe('globs', () => {
  it('are picomatch globs: braces and classes work', () => {
    assert.ok(globToRegExp('virt/kvm/{arm,arm64}/*.[ch]').test('virt/kvm/arm64/mmu.h'));
    assert.ok(!globToRegExp('virt/kvm/{arm,arm64}/*.[ch]').test('virt/kvm/x86/mmu.c'));
    assert.ok(globToRegExp('arch/arm64/kvm/hyp/**').test('arch/arm64/kvm/hyp/nvhe/x.c'));
  });

  it('a glob of many **a segments is refused at once with a clear message, not matched for minutes', () => {
    const glob = '**a'.repeat(30);
    const started = Date.now();
    assert.throws(
      () => globToRegExp(glob),
      (e: Error) => e instanceof GlobError && /has 30 wildcards in the segment/.test(e.message),
    );
    assert.deepEqual(usableGlobs([glob, '*.c']).length, 1, 'the server keeps the globs that work');
    const dir = scratchDir('lockpath-glob-');
    writeFileSync(join(dir, `${'a'.repeat(200)}b.c`), 'int x;\n');
    writeFileSync(join(dir, `${'a'.repeat(200)}c.c`), 'int y;\n');
    const r = lockpath(['--include', glob, dir]);
    assert.equal(r.code, 2);
    assert.match(r.err, /lockpath: the glob "(\*\*a)+" has 30 wildcards in the segment/);
    // The most stars allowed still match a long name quickly.
    const most = lockpath(['--json', '--include', '*a*a*b.c', dir]);
    assert.equal(most.code, 3, most.err);
    assert.deepEqual(JSON.parse(most.out).files, [`${'a'.repeat(200)}b.c`]);
    assert.ok(Date.now() - started < 30_000);
  });
});
