// `lockpath review BASE..HEAD [PATH]` and `lockpath review --patch FILE [TREE]`: the findings a change adds, removes
// and leaves, by stable id. Both sides are analysed in one Workspace (the second analysis re-reads only the changed
// files); revisions come from git objects, never from a checkout, and a patch is applied in memory.
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import type { Analysis } from '../analysis';
import { collectSources } from '../files/collect';
import { describeScope, findKernelRoot, isKernelLayout, scopeFilter, scopeOf } from '../files/scope';
import { findingJson } from '../report/json';
import { BadInput, incomplete, modelTextOnDisk, openWorkspace, VERSION, type ModelText } from './analyze';
import type { CliArgs } from './args';
import { diffExitStatus, diffFindings, diffText, type FindingDiff } from './diff-report';
import { emailBody } from './email';
import { commitOf, diffText as gitDiff, repositoryOf, splitRange, textsOf, treeOf } from './git';
import { applyPatch, parsePatch, PatchError, type FilePatch } from './patch';

export interface ReviewResult {
  /** What was compared, for the first line of the report. */
  title: string;
  /** The two sides: commit ids, or the tree and the patch applied to it. */
  sides: { base: string; head: string };
  scopeLine: string;
  base: Analysis;
  head: Analysis;
  diff: FindingDiff;
  /** The change as file patches (what an email quotes). */
  patches: FilePatch[];
  subject?: string;
}

export async function reviewCommand(args: CliArgs, out: (s: string) => void): Promise<number> {
  const r = args.patch !== undefined ? await reviewPatch(args) : await reviewRange(args);
  const unfinished = incomplete(r.head);
  if (args.json) {
    out(
      `${JSON.stringify({ lockpath: { version: VERSION, shape: 1 }, review: r.title, ...r.sides, incomplete: unfinished, ...r.diff }, null, 2)}\n`,
    );
  } else if (args.format === 'email') {
    out(emailBody(r));
  } else {
    out(`${diffText(r.diff, `lockpath ${VERSION}: review ${r.title}\nlockpath: ${r.scopeLine}`)}\n`);
    if (unfinished)
      out('note: the search did not finish on some chains (inconclusive): what it did not see is not reported\n');
  }
  return diffExitStatus(args, r.diff, unfinished);
}

/** Analyses `before`, then the same Workspace with `changes` made (undefined: file removed). */
async function compare(
  args: CliArgs,
  before: Map<string, string>,
  changes: Map<string, string | undefined>,
  modelText: ModelText | undefined,
): Promise<{ base: Analysis; head: Analysis; diff: FindingDiff }> {
  const { ws, problems } = await openWorkspace(args, modelText);
  try {
    for (const [rel, text] of before) ws.setFile(rel, text);
    const base = ws.analyze();
    for (const [rel, text] of changes) {
      if (text === undefined) ws.removeFile(rel);
      else ws.setFile(rel, text);
    }
    const head = ws.analyze();
    head.problems.unshift(...problems);
    const diff = diffFindings(
      base.findings.map((f) => findingJson(base, f)),
      head.findings.map((f) => findingJson(head, f)),
    );
    return { base, head, diff };
  } finally {
    ws.dispose();
  }
}

async function reviewRange(args: CliArgs): Promise<ReviewResult> {
  const [baseRev, headRev] = splitRange(args.range!);
  // Without a PATH: the kernel tree the current folder is in (its top, not the subfolder), else the folder itself.
  const { top, prefix } = repositoryOf(args.paths[0] ?? findKernelRoot(process.cwd()) ?? process.cwd());
  const baseId = commitOf(top, baseRev);
  const headId = commitOf(top, headRev);
  const baseTree = treeOf(top, baseId, prefix);
  const headTree = treeOf(top, headId, prefix);
  const scope = scopeOf(isKernelLayout(headTree.keys()) || isKernelLayout(baseTree.keys()), args);
  const inScope = scopeFilter(scope);
  const baseFiles = [...baseTree.keys()].filter(inScope);
  const headFiles = [...headTree.keys()].filter(inScope);
  if (!baseFiles.length && !headFiles.length)
    throw new BadInput(`no C files (*.c, *.h) in scope in ${baseRev} or ${headRev}${prefix ? ` under ${prefix}` : ''}`);
  const changed = [...new Set([...baseFiles, ...headFiles])].filter((p) => baseTree.get(p) !== headTree.get(p)).sort();
  const before = textsOf(top, baseTree, baseFiles);
  const after = textsOf(
    top,
    headTree,
    changed.filter((p) => headTree.has(p)),
  );
  const changes = new Map(changed.map((p) => [p, after.get(p)]));
  const modelText = args.model || args.noModelFile ? modelTextOnDisk(args, top) : modelAt(top, headTree);
  const r = await compare(args, before, changes, modelText);
  const full = (p: string): string => (prefix ? `${prefix}/${p}` : p);
  const patches = changed.length ? parsePatch(gitDiff(top, baseId, headId, changed.map(full)), 'git diff') : [];
  if (prefix)
    for (const fp of patches)
      Object.assign(fp, { oldPath: unprefix(fp.oldPath, prefix), newPath: unprefix(fp.newPath, prefix) });
  const present = [...headTree.keys()];
  return {
    ...r,
    sides: { base: baseId, head: headId },
    title: `${args.range} (${baseId.slice(0, 12)}..${headId.slice(0, 12)}, ${changed.length} file${changed.length === 1 ? '' : 's'} in scope changed)`,
    scopeLine: describeScope(scope, headFiles, present),
    patches,
  };
}

const unprefix = (p: string, prefix: string): string => (p.startsWith(`${prefix}/`) ? p.slice(prefix.length + 1) : p);

/** The model file of a revision (.lockpath.json at the analysed folder), if it has one. */
function modelAt(top: string, tree: Map<string, string>): ModelText | undefined {
  if (!tree.has('.lockpath.json')) return undefined;
  return { name: '.lockpath.json', text: textsOf(top, tree, ['.lockpath.json']).get('.lockpath.json')! };
}

async function reviewPatch(args: CliArgs): Promise<ReviewResult> {
  const patchFile = args.patch!;
  let patchText: string;
  try {
    patchText = readFileSync(patchFile, 'utf8');
  } catch (e) {
    throw new BadInput(`cannot read the patch ${patchFile}: ${(e as Error).message}`);
  }
  const tree = resolve(args.paths[0] ?? findKernelRoot(process.cwd()) ?? process.cwd());
  if (!existsSync(tree) || !statSync(tree).isDirectory())
    throw new BadInput(`no such folder: ${tree} (review --patch FILE TREE applies the patch to the folder TREE)`);
  const c = collectSources(tree, { include: args.include, exclude: args.exclude, maxBytes: args.maxFileBytes });
  const inScope = scopeFilter(c.scope);
  const before = new Map<string, string>();
  for (const f of c.files) before.set(f, readFileSync(join(tree, f), 'utf8'));
  const realTree = realpathSync(tree);
  const readOnDisk = (p: string): string | undefined => {
    if (before.has(p)) return before.get(p);
    const abs = resolve(tree, p);
    if (!abs.startsWith(realTree + sep) && !abs.startsWith(tree + sep))
      throw new BadInput(`${patchFile}: ${p} lies outside ${tree}`);
    try {
      return statSync(abs).isFile() ? readFileSync(abs, 'utf8') : undefined;
    } catch {
      return undefined;
    }
  };
  let patches: FilePatch[];
  let applied: Map<string, string | undefined>;
  try {
    patches = parsePatch(patchText, patchFile);
    applied = applyPatch(patches, readOnDisk, patchFile);
  } catch (e) {
    if (e instanceof PatchError) throw new BadInput(e.message);
    throw e;
  }
  const changes = new Map([...applied].filter(([p]) => inScope(p)));
  const r = await compare(args, before, changes, modelTextOnDisk(args, tree));
  const subjects = [...new Set(patches.map((p) => p.subject).filter((s): s is string => !!s))];
  const touched = [...applied.keys()];
  return {
    ...r,
    sides: { base: tree, head: `${tree} with ${patchFile}` },
    title: `${patchFile} on ${tree} (${patches.length} file patch${patches.length === 1 ? '' : 'es'}: ${touched.join(', ')}; ${changes.size} in scope)`,
    scopeLine: describeScope(c.scope, c.files, c.excluded),
    patches,
    subject: subjects.length === 1 ? subjects[0] : subjects.length ? `${subjects.length} patches` : undefined,
  };
}
