// lockpath history on a five-commit repository (the history fixtures v4.10 to v4.13 in turn, and a commit that
// touches nothing analysed): findings per commit, who introduced and removed each, and shards joined with --merge
// equal to the run over the whole range.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { fixturesDir, scratchDir } from '../helpers';
import { git, lockpath, MMU } from './git-fixture';

interface History {
  start: { commit: string; findings: string[] };
  commits: { commit: string; subject: string; findings: string[]; introduced: string[]; removed: string[] }[];
  findings: {
    id: string;
    introduced: string | null;
    removed: string | null;
    finding: { class: string; hook: string };
  }[];
}

describe('lockpath history', () => {
  let repo = '';
  const ids: Record<string, string> = {};
  before(() => {
    repo = scratchDir('lockpath-history-');
    git(repo, 'init', '-q');
    mkdirSync(join(repo, 'virt', 'kvm', 'arm'), { recursive: true });
    const release = (v: string): void => {
      copyFileSync(join(fixturesDir, 'history', v, 'mmu.c'), join(repo, MMU));
      git(repo, 'add', '-A');
      git(repo, 'commit', '-q', '-m', `mmu.c as of ${v}`);
      ids[v] = git(repo, 'rev-parse', 'HEAD');
    };
    release('v4.10');
    release('v4.11');
    writeFileSync(join(repo, 'NOTES'), 'not C\n');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'notes only');
    ids.notes = git(repo, 'rev-parse', 'HEAD');
    release('v4.12');
    release('v4.13');
  });

  const run = (...args: string[]): History => {
    const r = lockpath(['history', ...args, '--json'], repo);
    assert.equal(r.code, 0, r.err);
    return JSON.parse(r.out);
  };

  it('lists the commits that touch the analysed files, with what each introduced and removed', () => {
    const h = run(`${ids['v4.10']}..HEAD`);
    assert.equal(h.start.commit, ids['v4.10']);
    assert.deepEqual(
      h.commits.map((c) => c.subject),
      ['mmu.c as of v4.11', 'mmu.c as of v4.12', 'mmu.c as of v4.13'],
      'the notes-only commit is not listed',
    );
    assert.equal(h.commits.at(-1)!.findings.length, 0, 'v4.13 has no race');
    const aging = h.findings.filter(
      (f) => f.finding.class === 'unguarded-notifier-path' && f.finding.hook === 'kvm_age_hva',
    );
    assert.ok(aging.length >= 1);
    for (const f of aging) {
      assert.equal(f.introduced, null, 'present before the range');
      assert.equal(f.removed, ids['v4.13'], 'removed by the v4.13 guard');
    }
    const unlocked = h.findings.filter((f) => f.finding.class === 'teardown-without-lock');
    assert.ok(unlocked.length >= 1);
    for (const f of unlocked) assert.equal(f.removed, ids['v4.11'], 'v4.11 took the lock in the free path');
    assert.deepEqual(
      h.commits[0].removed.sort(),
      h.findings
        .filter((f) => f.removed === ids['v4.11'])
        .map((f) => f.id)
        .sort(),
    );
  });

  it('--shard i/n parts joined with --merge equal the unsharded run (in any order)', () => {
    const whole = run(`${ids['v4.10']}..HEAD`);
    const dir = scratchDir('lockpath-shards-');
    for (const n of [2, 3, 5]) {
      // 5 shards for 3 commits: some shards have none
      const parts: string[] = [];
      for (let i = 1; i <= n; i++) {
        const r = lockpath(['history', `${ids['v4.10']}..HEAD`, '--shard', `${i}/${n}`], repo);
        assert.equal(r.code, 0, r.err);
        parts.push(join(dir, `part-${i}-of-${n}.json`));
        writeFileSync(parts.at(-1)!, r.out);
      }
      assert.deepEqual(run('--merge', ...parts.reverse()), whole, `${n} shards`);
      const missing = lockpath(['history', '--merge', ...parts.slice(1)], repo);
      assert.equal(missing.code, 2);
      assert.match(missing.err, /shard \d of \d missing/);
    }
  });

  it('the text report names introducing and removing commits', () => {
    const r = lockpath(['history', `${ids['v4.10']}..HEAD`], repo);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /history .*: 3 commits touch the analysed files/);
    assert.match(r.out, new RegExp(`introduced by \\(before the range\\), removed by ${ids['v4.13'].slice(0, 12)}`));
  });
});
