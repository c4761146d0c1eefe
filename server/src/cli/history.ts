// `lockpath history A..B [PATH]`: the findings at each commit of a range that touches the analysed files, and for
// each finding the commit that introduced it and the one that removed it. One Workspace walks the commits, so a
// commit costs the files it changed (the facts cache on disk, keyed by content, makes other runs and shards cheap
// too). `--shard i/n` runs the i-th contiguous slice of those commits from the tree just before it and prints a
// part; `--merge FILE...` joins parts into the same answer as one run over the whole range.
import { readFileSync } from 'node:fs';
import type { Workspace } from '../analysis';
import { findKernelRoot, isKernelLayout, scopeFilter, scopeOf, type Scope } from '../files/scope';
import { findingJson, type FindingJson } from '../report/json';
import { BadInput, incomplete, modelTextOnDisk, openWorkspace, VERSION, type ModelText } from './analyze';
import type { CliArgs } from './args';
import { shortLine } from './diff-report';
import { commitOf, commitsIn, fileAt, readBlobs, repositoryOf, splitRange, treeOf, type Commit } from './git';

/** What one run (or shard) saw: the findings just before its first commit and after each of its commits. */
export interface HistoryPart {
  lockpath: { version: string; shape: number };
  kind: 'lockpath-history-part';
  range: string;
  /** How many commits of the range touch the analysed files (all shards agree on it). */
  touching: number;
  shard: { index: number; count: number };
  start: { commit: string; findings: string[] };
  commits: HistoryCommit[];
  /** Each finding seen, as first seen in this part. */
  findings: Record<string, FindingJson>;
  incomplete: boolean;
}

export interface HistoryCommit {
  /** Position among the commits that touch the analysed files, from 0. */
  index: number;
  commit: string;
  subject: string;
  findings: string[];
}

export interface History {
  lockpath: { version: string; shape: number };
  range: string;
  /** The tree the range starts from (the first parent of its first commit that touches the analysed files). */
  start: { commit: string; findings: string[] };
  commits: (HistoryCommit & { introduced: string[]; removed: string[] })[];
  /** introduced: null when already present at the start; removed: null when still present at the end. */
  findings: { id: string; introduced: string | null; removed: string | null; finding: FindingJson }[];
  incomplete: boolean;
}

export async function historyCommand(args: CliArgs, out: (s: string) => void): Promise<number> {
  const history = args.merge ? mergeParts(args.paths.map(readPart)) : undefined;
  if (history) return print(args, history, out);
  const part = await runPart(args);
  if (args.shard) {
    out(`${JSON.stringify(part, null, 2)}\n`);
    return part.incomplete && args.failOn !== 'none' ? 3 : 0;
  }
  return print(args, mergeParts([part]), out);
}

function print(args: CliArgs, h: History, out: (s: string) => void): number {
  if (args.json) out(`${JSON.stringify(h, null, 2)}\n`);
  else out(`${historyText(h)}\n`);
  return h.incomplete && args.failOn !== 'none' ? 3 : 0;
}

async function runPart(args: CliArgs): Promise<HistoryPart> {
  const range = args.range!;
  const { top, prefix } = repositoryOf(args.paths[0] ?? findKernelRoot(process.cwd()) ?? process.cwd());
  const [fromRev, toRev] = splitRange(range);
  commitOf(top, fromRev);
  const to = commitOf(top, toRev);
  const lead = prefix ? `${prefix}/` : '';
  const relOf = (p: string): string | undefined => (p.startsWith(lead) ? p.slice(lead.length) : undefined);

  // The scope is decided on the last tree of the range, so every shard reads the same folders.
  const scope: Scope = scopeOf(isKernelLayout(treeOf(top, to, prefix).keys()), args);
  const inScope = scopeFilter(scope);
  const touches = (c: Commit): boolean =>
    [...c.changes.keys()].some((p) => {
      const rel = relOf(p);
      return rel !== undefined && inScope(rel);
    });
  const all = commitsIn(top, range).filter(touches);
  const shard = args.shard ?? { index: 1, count: 1 };
  const mine = all.slice(
    Math.floor(((shard.index - 1) * all.length) / shard.count),
    Math.floor((shard.index * all.length) / shard.count),
  );
  const firstIndex = Math.floor(((shard.index - 1) * all.length) / shard.count);

  // Every blob the slice's commits bring in, read up front in a few git processes rather than one per commit.
  const blobs = new BlobReader(top);
  blobs.prefetch(
    mine.flatMap((c) => [...c.changes].filter(([p, oid]) => oid && inScope(relOf(p) ?? '/')).map(([, oid]) => oid)),
  );

  const modelText: ModelText | undefined =
    args.model || args.noModelFile ? modelTextOnDisk(args, top) : modelAt(top, to, lead);
  const { ws } = await openWorkspace(args, modelText);
  const part: HistoryPart = {
    lockpath: { version: VERSION, shape: 1 },
    kind: 'lockpath-history-part',
    range,
    touching: all.length,
    shard,
    start: { commit: '', findings: [] },
    commits: [],
    findings: {},
    incomplete: false,
  };
  try {
    // A shard left without commits (more shards than commits) has nothing to say: merging skips it.
    if (!mine.length && all.length) return part;
    const state = new Map<string, string>(); // rel -> blob id, in scope
    const startRev = mine.length ? mine[0].parent || undefined : to;
    if (startRev) syncTo(ws, state, blobs, treeOf(top, startRev, prefix), inScope);
    part.start = { commit: startRev ?? '', findings: analyse(ws, part) };
    let at = startRev;
    for (const [k, c] of mine.entries()) {
      if (at && c.parent === at) {
        const changed = new Map<string, string>();
        for (const [p, oid] of c.changes) {
          const rel = relOf(p);
          if (rel !== undefined && inScope(rel)) changed.set(rel, oid);
        }
        applyChanges(ws, state, blobs, changed);
      } else {
        syncTo(ws, state, blobs, treeOf(top, c.id, prefix), inScope);
      }
      at = c.id;
      part.commits.push({ index: firstIndex + k, commit: c.id, subject: c.subject, findings: analyse(ws, part) });
    }
  } finally {
    ws.dispose();
  }
  return part;
}

function modelAt(top: string, rev: string, lead: string): ModelText | undefined {
  const text = fileAt(top, rev, `${lead}.lockpath.json`);
  return text === undefined ? undefined : { name: '.lockpath.json', text };
}

/** Makes the Workspace hold exactly the tree's files in scope. */
function syncTo(
  ws: Workspace,
  state: Map<string, string>,
  blobs: BlobReader,
  tree: Map<string, string>,
  inScope: (rel: string) => boolean,
): void {
  const changed = new Map<string, string>();
  for (const [rel, oid] of tree) if (inScope(rel) && state.get(rel) !== oid) changed.set(rel, oid);
  for (const rel of state.keys()) if (!tree.has(rel)) changed.set(rel, '');
  applyChanges(ws, state, blobs, changed);
}

/** rel -> new blob id ('' for deleted). */
function applyChanges(
  ws: Workspace,
  state: Map<string, string>,
  blobs: BlobReader,
  changed: Map<string, string>,
): void {
  const texts = blobs.read([...changed.values()].filter(Boolean));
  for (const [rel, oid] of changed) {
    if (!oid) {
      ws.removeFile(rel);
      state.delete(rel);
    } else {
      ws.setFile(rel, texts.get(oid)!);
      state.set(rel, oid);
    }
  }
}

/** Blob texts by id: those prefetched in batches, the rest read when asked for (and then forgotten). */
class BlobReader {
  private readonly kept = new Map<string, string>();
  constructor(private readonly top: string) {}

  prefetch(oids: string[]): void {
    const wanted = [...new Set(oids)];
    for (let i = 0; i < wanted.length; i += PREFETCH_BATCH)
      for (const [oid, text] of readBlobs(this.top, wanted.slice(i, i + PREFETCH_BATCH))) this.kept.set(oid, text);
  }

  read(oids: string[]): Map<string, string> {
    const out = readBlobs(
      this.top,
      oids.filter((o) => !this.kept.has(o)),
    );
    for (const o of oids) {
      const text = this.kept.get(o);
      if (text !== undefined) {
        out.set(o, text);
        this.kept.delete(o); // a blob comes in once along a linear history
      }
    }
    return out;
  }
}

const PREFETCH_BATCH = 2000;

function analyse(ws: Workspace, part: HistoryPart): string[] {
  if (!ws.paths().length) return [];
  const a = ws.analyze();
  if (incomplete(a)) part.incomplete = true;
  for (const f of a.findings) part.findings[f.id] ??= findingJson(a, f);
  return a.findings.map((f) => f.id);
}

function readPart(file: string): HistoryPart {
  let part: HistoryPart;
  try {
    part = JSON.parse(readFileSync(file, 'utf8')) as HistoryPart;
  } catch (e) {
    throw new BadInput(`cannot read the history part ${file}: ${(e as Error).message}`);
  }
  if (part?.kind !== 'lockpath-history-part' || !Array.isArray(part.commits))
    throw new BadInput(`${file} is not the output of lockpath history --shard i/n`);
  return part;
}

/** Joins parts (in any order) into the history of the whole range; every shard of the range must be there once. */
export function mergeParts(parts: HistoryPart[]): History {
  if (!parts.length) throw new BadInput('no history parts to join');
  const sorted = [...parts].sort((a, b) => a.shard.index - b.shard.index);
  const { range, touching, shard } = sorted[0];
  for (const p of sorted) {
    if (p.range !== range || p.shard.count !== shard.count || p.touching !== touching)
      throw new BadInput(
        `history parts of different runs: ${range} in ${shard.count} shards vs ${p.range} in ${p.shard.count}`,
      );
  }
  const missing = Array.from({ length: shard.count }, (_, i) => i + 1).filter(
    (i) => !sorted.some((p) => p.shard.index === i),
  );
  if (missing.length || sorted.length !== shard.count)
    throw new BadInput(
      `history parts: ${missing.length ? `shard ${missing.join(', ')} of ${shard.count} missing` : 'a shard given twice'}`,
    );
  const commits = sorted.flatMap((p) => p.commits);
  const seen: Record<string, FindingJson> = {};
  for (const p of sorted) for (const [id, f] of Object.entries(p.findings)) seen[id] ??= f;

  // The range starts where its first commit's shard started (shards without commits start nowhere).
  const start = (sorted.find((p) => p.commits.length) ?? sorted[0]).start;
  let before = new Set(start.findings);
  const introduced = new Map<string, string | null>(start.findings.map((id) => [id, null]));
  const removed = new Map<string, string | null>();
  const rows = commits.map((c) => {
    const now = new Set(c.findings);
    const added = c.findings.filter((id) => !before.has(id));
    const gone = [...before].filter((id) => !now.has(id));
    for (const id of added) if (!introduced.has(id)) introduced.set(id, c.commit);
    for (const id of added) removed.delete(id);
    for (const id of gone) removed.set(id, c.commit);
    before = now;
    return { ...c, introduced: added, removed: gone };
  });
  const findings = [...introduced.keys()].map((id) => ({
    id,
    introduced: introduced.get(id)!,
    removed: removed.get(id) ?? null,
    finding: seen[id],
  }));
  return {
    lockpath: { version: VERSION, shape: 1 },
    range,
    start,
    commits: rows,
    findings,
    incomplete: sorted.some((p) => p.incomplete),
  };
}

export function historyText(h: History): string {
  const short = (c: string | null): string => (c ? c.slice(0, 12) : '-');
  const out = [
    `lockpath ${VERSION}: history ${h.range}: ${h.commits.length} commit${h.commits.length === 1 ? ' touches' : 's touch'} the analysed files`,
    '',
  ];
  out.push(
    `${short(h.start.commit)} (start)  ${h.start.findings.length} finding${h.start.findings.length === 1 ? '' : 's'}`,
  );
  for (const c of h.commits) {
    const delta = [...c.introduced.map((id) => `+${id}`), ...c.removed.map((id) => `-${id}`)].join(' ');
    out.push(
      `${short(c.commit)} ${c.findings.length} finding${c.findings.length === 1 ? '' : 's'}${delta ? `  ${delta}` : ''}  ${c.subject}`,
    );
  }
  out.push('', `${h.findings.length} finding${h.findings.length === 1 ? '' : 's'} over the range:`);
  for (const f of h.findings)
    out.push(
      `  ${shortLine(f.finding)}`,
      `    introduced by ${f.introduced ? short(f.introduced) : '(before the range)'}, removed by ${f.removed ? short(f.removed) : '(still present)'}`,
    );
  if (h.incomplete) out.push('', 'note: the search did not finish on some chains at some commit (inconclusive)');
  return out.join('\n');
}
