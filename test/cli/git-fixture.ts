// Git repositories built by the tests from the example and the history fixtures, and the CLI run in a child process.
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exampleDir, repoRoot, scratchDir } from '../helpers';

const bin = join(repoRoot, 'bin', 'lockpath.js');

export function lockpath(args: string[], cwd: string): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', timeout: 180_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

export function git(dir: string, ...args: string[]): string {
  const r = spawnSync(
    'git',
    ['-c', 'user.email=test@lockpath.invalid', '-c', 'user.name=lockpath test', '-c', 'commit.gpgsign=false', ...args],
    { cwd: dir, encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

/** A new repository holding the bundled example's tree (a kernel layout: virt/kvm and arch/arm64/kvm), committed. */
export function exampleRepo(prefix: string): string {
  const dir = scratchDir(prefix);
  git(dir, 'init', '-q');
  cpSync(exampleDir, dir, { recursive: true });
  rmSync(join(dir, 'expected.json'));
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'the v4.12 example');
  return dir;
}

export const MMU = 'virt/kvm/arm/mmu.c';
/** kvm_set_spte_hva's hook-level guard, as the example writes it. */
export const SPTE_GUARD = '\tpte_t stage2_pte;\n\n\tif (!kvm->arch.pgd)\n\t\treturn;\n';

/** Commits a change to one file of the repository's working tree; returns the commit id. */
export function commitEdit(dir: string, file: string, edit: (text: string) => string, message: string): string {
  const path = join(dir, file);
  const before = readFileSync(path, 'utf8');
  const after = edit(before);
  if (after === before) throw new Error(`the edit for "${message}" changed nothing`);
  writeFileSync(path, after);
  git(dir, 'commit', '-q', '-a', '-m', message);
  return git(dir, 'rev-parse', 'HEAD');
}
