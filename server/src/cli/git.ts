// Reading a git repository without touching its checkout: revisions, trees (`git ls-tree`), blobs (`git cat-file
// --batch`, many in one process), and what each commit of a range changed (`git log --raw`). Every failure of git
// becomes a BadInput naming the command and git's own message.
import { spawnSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { relative, resolve, sep } from 'node:path';
import { BadInput } from './analyze';

function git(cwd: string, args: string[], input?: string): Buffer {
  const r = spawnSync('git', ['-c', 'core.quotepath=off', ...args], { cwd, input, maxBuffer: 1 << 30 });
  if (r.error) throw new BadInput(`cannot run git: ${r.error.message}`);
  if (r.status !== 0)
    throw new BadInput(`git ${args.join(' ')}: ${r.stderr.toString().trim() || `exit status ${r.status}`}`);
  return r.stdout;
}

const text = (cwd: string, args: string[]): string => git(cwd, args).toString('utf8');

/** The repository holding `dir`, and `dir` relative to its top ('' at the top), with forward slashes. */
export function repositoryOf(dir: string): { top: string; prefix: string } {
  const abs = resolve(dir);
  const r = spawnSync('git', ['rev-parse', '--show-toplevel'], { cwd: abs, encoding: 'utf8' });
  if (r.error || r.status !== 0)
    throw new BadInput(`${abs} is not inside a git repository (review and history read revisions from git)`);
  const top = r.stdout.trim();
  const prefix = relative(realpathSync(top), realpathSync(abs)).split(sep).join('/');
  return { top, prefix };
}

/** A revision's commit id; an unknown one is bad input. */
export function commitOf(top: string, rev: string): string {
  const r = spawnSync('git', ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`], { cwd: top, encoding: 'utf8' });
  if (r.status !== 0) throw new BadInput(`unknown revision ${rev} in ${top}`);
  return r.stdout.trim();
}

export function splitRange(range: string): [string, string] {
  const at = range.indexOf('..');
  return [range.slice(0, at), range.slice(at + 2)];
}

/** The blobs of a revision's tree under `prefix`: path relative to the prefix -> object id. */
export function treeOf(top: string, rev: string, prefix: string): Map<string, string> {
  const out = new Map<string, string>();
  const lead = prefix ? `${prefix}/` : '';
  for (const entry of git(top, ['ls-tree', '-r', '-z', '--full-tree', rev]).toString('utf8').split('\0')) {
    const tab = entry.indexOf('\t');
    if (tab < 0) continue;
    const [, type, oid] = entry.slice(0, tab).split(' ');
    const path = entry.slice(tab + 1);
    if (type === 'blob' && path.startsWith(lead)) out.set(path.slice(lead.length), oid);
  }
  return out;
}

/** The texts of blobs, by id, read through one `git cat-file --batch`. */
export function readBlobs(top: string, oids: Iterable<string>): Map<string, string> {
  const wanted = [...new Set(oids)];
  const out = new Map<string, string>();
  if (!wanted.length) return out;
  const buf = git(top, ['cat-file', '--batch'], `${wanted.join('\n')}\n`);
  let at = 0;
  while (at < buf.length) {
    const eol = buf.indexOf(10, at);
    const header = buf.subarray(at, eol).toString('utf8').split(' ');
    if (header[1] === 'missing') throw new BadInput(`git object ${header[0]} is missing`);
    const size = Number(header[2]);
    out.set(header[0], buf.subarray(eol + 1, eol + 1 + size).toString('utf8'));
    at = eol + 1 + size + 1;
  }
  return out;
}

/** The texts of some of a tree's files, by relative path (their blobs read in one batch). */
export function textsOf(top: string, tree: Map<string, string>, paths: Iterable<string>): Map<string, string> {
  const list = [...paths];
  const blobs = readBlobs(
    top,
    list.map((p) => tree.get(p)!),
  );
  return new Map(list.map((p) => [p, blobs.get(tree.get(p)!)!]));
}

export interface Commit {
  id: string;
  /** The first parent ('' for a root commit). */
  parent: string;
  subject: string;
  /** What changed against the first parent: path (from the top) -> new object id, or '' when deleted. */
  changes: Map<string, string>;
}

/** The commits of A..B, oldest first (topological order), each with its changes against its first parent. */
export function commitsIn(top: string, range: string): Commit[] {
  const raw = text(top, [
    'log',
    '--reverse',
    '--topo-order',
    '--no-renames',
    '--diff-merges=first-parent',
    '--raw',
    '--no-abbrev',
    '--format=%x01%H %P%x09%s',
    range,
  ]);
  const commits: Commit[] = [];
  for (const block of raw.split('\x01').slice(1)) {
    const lines = block.split('\n');
    const tab = lines[0].indexOf('\t');
    const [id, parent = ''] = lines[0].slice(0, tab).split(' ');
    const changes = new Map<string, string>();
    for (const l of lines.slice(1)) {
      if (!l.startsWith(':')) continue;
      const t = l.indexOf('\t');
      const [, , , newOid, status] = l.slice(0, t).split(' ');
      changes.set(l.slice(t + 1), status.startsWith('D') ? '' : newOid);
    }
    commits.push({ id, parent, subject: lines[0].slice(tab + 1), changes });
  }
  return commits;
}

/** `git diff` between two revisions, limited to paths (from the top): the hunks a reviewer would quote. */
export function diffText(top: string, from: string, to: string, paths: string[]): string {
  if (!paths.length) return '';
  return text(top, ['diff', '--no-color', '--no-renames', '--no-ext-diff', from, to, '--', ...paths]);
}

/** A file's text at a revision (path from the top), or undefined when the revision has no such file. */
export function fileAt(top: string, rev: string, path: string): string | undefined {
  const r = spawnSync('git', ['cat-file', 'blob', `${rev}:${path}`], { cwd: top });
  return r.status === 0 ? r.stdout.toString('utf8') : undefined;
}
