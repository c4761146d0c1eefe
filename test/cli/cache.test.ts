// Caches never harm: lockpath prunes only folders it created, an empty LOCKPATH_CACHE means the default, and texts
// are told apart by a cryptographic hash (two texts a 32-bit hash confuses are still two texts).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CACHE_MARKER, KEPT_OTHER_BUILDS } from '../../server/src/files/index-cache';
import { textHash } from '../../server/src/lsp/engine';
import { exampleDir, repoRoot, scratchDir } from '../helpers';

const bin = join(repoRoot, 'bin', 'lockpath.js');

function run(args: string[], env: NodeJS.ProcessEnv, cwd = scratchDir('lockpath-cwd-')) {
  return spawnSync(process.execPath, [bin, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 120_000,
  });
}

/** FNV-1a over UTF-16 code units, continued from state `h` (what the caches keyed texts by before). */
function fnv(text: string, h = 0x811c9dc5): number {
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Two comments of one length that make `a + comment` and `b + comment'` hash alike under 32-bit FNV-1a. */
function fnvCollision(a: string, b: string): [string, string] {
  const ha = fnv(a);
  const hb = fnv(b);
  const seen = new Map<number, string>();
  // Random words (a fixed xorshift): counting suffixes vary too little for FNV's weak mixing, and take millions.
  let state = 12345;
  const letter = (): string => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return String.fromCharCode(97 + ((state >>> 0) % 26));
  };
  const comment = (): string => `/* ${Array.from({ length: 10 }, letter).join('')} */\n`;
  for (;;) {
    const ca = comment();
    seen.set(fnv(ca, ha), ca);
    const cb = comment();
    const hit = seen.get(fnv(cb, hb));
    if (hit) return [hit, cb];
  }
}

describe('the caches', () => {
  it("prune only build folders lockpath created: the user's own index-* folders are all kept", () => {
    const cache = scratchDir('lockpath-cache-');
    // Six older builds' folders lockpath wrote (with its marker), a day apart (index-old-0 the newest) ...
    for (let i = 0; i < 6; i++) {
      const dir = join(cache, `index-old-${i}`);
      mkdirSync(dir);
      writeFileSync(join(dir, CACHE_MARKER), 'lockpath cache folder\n');
      const when = new Date(Date.now() - (i + 1) * 86_400_000);
      utimesSync(dir, when, when);
    }
    // ... and the user's own folders that happen to be named index-*, older still.
    for (let i = 0; i < 5; i++) {
      const dir = join(cache, `index-mine-${i}`);
      mkdirSync(dir);
      writeFileSync(join(dir, 'notes.txt'), 'mine\n');
      const when = new Date(Date.now() - (i + 10) * 86_400_000);
      utimesSync(dir, when, when);
    }
    const r = run(['--json', exampleDir], { LOCKPATH_CACHE: cache });
    assert.equal(r.status, 1, r.stderr);
    const left = readdirSync(cache).sort();
    assert.deepEqual(
      left.filter((d) => d.startsWith('index-mine-')),
      ['index-mine-0', 'index-mine-1', 'index-mine-2', 'index-mine-3', 'index-mine-4'],
    );
    assert.deepEqual(
      left.filter((d) => d.startsWith('index-old-')),
      ['index-old-0', 'index-old-1', 'index-old-2'].slice(0, KEPT_OTHER_BUILDS),
    );
    const current = left.filter(
      (d) => d.startsWith('index-') && !d.startsWith('index-old-') && !d.startsWith('index-mine-'),
    );
    assert.equal(current.length, 1);
    assert.ok(existsSync(join(cache, current[0], CACHE_MARKER)), 'the new build folder carries the marker');
  });

  it('LOCKPATH_CACHE set but empty writes to the default folder under HOME, not the current folder', () => {
    const home = scratchDir('lockpath-home-');
    const cwd = scratchDir('lockpath-cwd-');
    const r = run(['--json', exampleDir], { LOCKPATH_CACHE: '', HOME: home }, cwd);
    assert.equal(r.status, 1, r.stderr);
    assert.deepEqual(readdirSync(cwd), [], 'nothing written where it ran');
    const builds = readdirSync(join(home, '.cache', 'lockpath'));
    assert.equal(builds.length, 1);
    assert.match(builds[0], /^index-/);
  });

  it('a file changed to a text with the same length and 32-bit FNV is indexed again, not read from the cache', () => {
    const before = 'int kvm_age_hva_one(struct kvm *kvm)\n{\n\treturn 1;\n}\n';
    const after = 'int kvm_age_hva_two(struct kvm *kvm)\n{\n\treturn 2;\n}\n';
    const [ca, cb] = fnvCollision(before, after);
    const a = before + ca;
    const b = after + cb;
    assert.equal(a.length, b.length);
    assert.equal(fnv(a), fnv(b), 'the two texts collide under the old hash');
    assert.notEqual(textHash(a), textHash(b), 'the editor tells them apart');
    const cache = scratchDir('lockpath-cache-');
    const dir = scratchDir('lockpath-collide-');
    writeFileSync(join(dir, 'hva.c'), a);
    assert.equal(run(['explain', 'kvm_age_hva_one', dir], { LOCKPATH_CACHE: cache }).status, 0);
    writeFileSync(join(dir, 'hva.c'), b);
    const r = run(['explain', 'kvm_age_hva_two', dir], { LOCKPATH_CACHE: cache });
    assert.equal(r.status, 0, r.stdout);
    assert.match(r.stdout, /kvm_age_hva_two \(hva\.c:1\), returns int/);
  });
});
