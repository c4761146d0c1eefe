// The VS Code extension as shipped: the manifest's contributions point at files that exist, the grammars'
// patterns match what they are for, and the .vsix holds only what runs (checked with vsce itself, offline).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { readSettings } from '../../server/src/lsp/settings';
import { repoRoot } from '../helpers';

const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
const vsce = join(repoRoot, 'node_modules', '@vscode', 'vsce', 'vsce');

const SHIPPED = [
  'LICENSE',
  'README.md',
  'dist/client/extension.js',
  'dist/server/server.js',
  'dist/wasm/tree-sitter-c.wasm',
  'dist/wasm/tree-sitter.wasm',
  'media/icon.png',
  'media/walkthrough/fix.md',
  'media/walkthrough/open-tree.md',
  'media/walkthrough/see-race.md',
  'media/walkthrough/timeline.md',
  'package.json',
  'schemas/lockpath.schema.json',
  'syntaxes/lockpath-annotations.injection.tmLanguage.json',
  'syntaxes/lockpath-locks.injection.tmLanguage.json',
];

function runVsce(args: string[]): string {
  const r = spawnSync(process.execPath, [vsce, ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, `vsce ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Names in a zip file, from its central directory. */
function zipEntries(file: string): string[] {
  const buf = readFileSync(file);
  let eocd = buf.length - 22;
  while (eocd >= 0 && buf.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  assert.ok(eocd >= 0, 'a zip file');
  const count = buf.readUInt16LE(eocd + 10);
  let at = buf.readUInt32LE(eocd + 16);
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    assert.equal(buf.readUInt32LE(at), 0x02014b50);
    const nameLen = buf.readUInt16LE(at + 28);
    const extra = buf.readUInt16LE(at + 30);
    const comment = buf.readUInt16LE(at + 32);
    names.push(buf.toString('utf8', at + 46, at + 46 + nameLen));
    at += 46 + nameLen + extra + comment;
  }
  return names.sort();
}

/** One entry's text, found through the central directory (local headers may defer their sizes). */
function zipText(file: string, name: string): string {
  const buf = readFileSync(file);
  let eocd = buf.length - 22;
  while (eocd >= 0 && buf.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  let at = buf.readUInt32LE(eocd + 16);
  for (let i = buf.readUInt16LE(eocd + 10); i > 0; i--) {
    const method = buf.readUInt16LE(at + 10);
    const size = buf.readUInt32LE(at + 20);
    const nameLen = buf.readUInt16LE(at + 28);
    const entry = buf.toString('utf8', at + 46, at + 46 + nameLen);
    if (entry === name) {
      const local = buf.readUInt32LE(at + 42);
      const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
      const data = buf.subarray(start, start + size);
      return (method === 8 ? inflateRawSync(data) : data).toString('utf8');
    }
    at += 46 + nameLen + buf.readUInt16LE(at + 30) + buf.readUInt16LE(at + 32);
  }
  throw new Error(`${name} not in ${file}`);
}

describe('the VS Code extension package', { timeout: 120_000 }, () => {
  it('vsce ls lists exactly what runs (.vscodeignore)', () => {
    const files = runVsce(['ls', '--no-dependencies'])
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .sort();
    assert.deepEqual(files, SHIPPED);
  });

  it('vsce package builds a .vsix offline with those files only', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lockpath-vsix-'));
    try {
      const out = join(dir, 'lockpath.vsix');
      const started = Date.now();
      // As `npm run package` does: the marketplace page is MARKETPLACE.md, not the developer README.
      runVsce(['package', '--no-dependencies', '--readme-path', 'MARKETPLACE.md', '--out', out]);
      const entries = zipEntries(out).filter((n) => n.startsWith('extension/'));
      // vsce renames LICENSE to LICENSE.txt inside the archive; readme.md is the --readme-path file.
      const expected = SHIPPED.map(
        (f) => `extension/${f === 'LICENSE' ? 'LICENSE.txt' : f === 'README.md' ? 'readme.md' : f}`,
      ).sort();
      assert.deepEqual(entries, expected);
      assert.ok(!entries.some((e) => /node_modules|\/test\/|\.map$|\.ts$/.test(e)));
      assert.ok(Date.now() - started < 30_000, 'packaging is quick');
      const readme = zipText(out, 'extension/readme.md');
      assert.match(
        readme,
        /^# lockpath\n\n\*\*Finds the stage-2 page-table lifetime races/,
        'the marketplace README, not the developer one',
      );
      assert.doesNotMatch(readme, /npm ci/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the manifest starts the bundled client on C files and contributes commands, settings, grammars, schema', () => {
    assert.equal(pkg.main, './dist/client/extension.js');
    assert.ok(existsSync(join(repoRoot, pkg.main)));
    assert.ok(pkg.activationEvents.includes('onLanguage:c'));
    const commands = pkg.contributes.commands.map((c: { command: string }) => c.command);
    for (const id of ['lockpath.showChains', 'lockpath.explain', 'lockpath.showRaceTimeline', 'lockpath.restartServer'])
      assert.ok(commands.includes(id), id);
    const palette = pkg.contributes.menus.commandPalette.map((c: { command: string }) => c.command);
    for (const id of commands) assert.ok(palette.includes(id), `${id} in the palette`);
    const props = pkg.contributes.configuration.properties;
    for (const key of [
      'lockpath.modelFile',
      'lockpath.index.include',
      'lockpath.index.exclude',
      'lockpath.assumptions',
      'lockpath.inlayHints.enabled',
      'lockpath.showParseProblems',
      'lockpath.maxFileSize',
    ]) {
      assert.ok(props[key], key);
      assert.ok(props[key].description || props[key].markdownDescription, `${key} has a description`);
    }
    // The defaults the manifest declares are the server's defaults.
    const defaults = readSettings(undefined);
    assert.deepEqual(props['lockpath.index.include'].default, defaults.index.include);
    assert.equal(props['lockpath.maxFileSize'].default, defaults.maxFileSize);
    assert.equal(props['lockpath.modelFile'].default, defaults.modelFile);
    // Limited mode: settings that decide what is read are never taken from an untrusted workspace.
    const untrusted = pkg.capabilities.untrustedWorkspaces;
    assert.equal(untrusted.supported, true);
    for (const key of ['lockpath.modelFile', 'lockpath.index.include', 'lockpath.index.exclude'])
      assert.ok(untrusted.restrictedConfigurations.includes(key), key);
    for (const key of untrusted.restrictedConfigurations) assert.ok(props[key], `${key} is a setting`);
    assert.match(untrusted.description, /only the C files you open are analysed/);
    assert.deepEqual(pkg.contributes.jsonValidation, [
      { fileMatch: '.lockpath.json', url: './schemas/lockpath.schema.json' },
    ]);
    assert.ok(existsSync(join(repoRoot, 'schemas/lockpath.schema.json')));
    for (const g of pkg.contributes.grammars) {
      assert.deepEqual(g.injectTo, ['source.c']);
      const grammar = JSON.parse(readFileSync(join(repoRoot, g.path), 'utf8'));
      assert.equal(grammar.scopeName, g.scopeName);
      assert.match(grammar.injectionSelector, /^L:source\.c/);
    }
  });

  it('the grammars highlight lock primitives, READ_ONCE/WRITE_ONCE and lockpath: annotations', () => {
    const load = (
      f: string,
    ): { injectionSelector: string; patterns: { match: string; captures: Record<string, { name: string }> }[] } =>
      JSON.parse(readFileSync(join(repoRoot, 'syntaxes', f), 'utf8'));
    const locks = load('lockpath-locks.injection.tmLanguage.json');
    const scopes = (text: string): string[] => {
      const out: string[] = [];
      for (const p of locks.patterns)
        for (const m of text.matchAll(new RegExp(p.match, 'g'))) out.push(`${m[1]}=${p.captures['1'].name}`);
      return out;
    };
    for (const fn of [
      'spin_lock',
      'spin_unlock',
      'spin_lock_irqsave',
      'write_lock',
      'write_unlock',
      'read_lock',
      'read_unlock',
      'cond_resched_lock',
      'cond_resched_rwlock_write',
      'cond_resched_rwlock_read',
    ]) {
      assert.deepEqual(scopes(`\t${fn}(&kvm->mmu_lock);`), [`${fn}=keyword.control.lock.lockpath`], fn);
    }
    assert.deepEqual(scopes('if (!READ_ONCE(kvm->arch.pgd)) WRITE_ONCE(x, 1);'), [
      'READ_ONCE=storage.modifier.once.lockpath',
      'WRITE_ONCE=storage.modifier.once.lockpath',
    ]);
    assert.deepEqual(
      scopes('spin_lock_init(&kvm->mmu_lock); my_spin_lock(x); spin_lock_ptr = 0;'),
      [],
      'not other names',
    );
    assert.match(locks.injectionSelector, /-comment/);
    const ann = load('lockpath-annotations.injection.tmLanguage.json');
    const m = new RegExp(ann.patterns[0].match).exec('/* lockpath: assume vcpu-thread-pins-mm */');
    assert.deepEqual([m?.[1], m?.[3]], ['lockpath', 'assume']);
    assert.match(ann.injectionSelector, /comment/);
  });
});
