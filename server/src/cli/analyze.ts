// What every analysing command shares: the model (model file, --model, --assume), the caches on disk, and a
// Workspace set up with them. Files come from the caller: a folder on disk, git objects, or a patched tree.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { loadParser, Workspace, type Analysis, type Problem } from '../analysis';
import { suppressFindings } from '../analysis/findings/suppress';
import { parseKernelConfig } from '../analysis/index/config';
import { applyModelFile } from '../analysis/model/loader';
import { DiskExploreStore, DiskIndexCache, defaultCacheDir } from '../files/index-cache';
import { resolveModel } from '../files/model-config';
import { incompleteness, type CheckOutcome } from '../report/incomplete';
import type { CliArgs } from './args';

export const VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
})();

export function packageRoot(): string {
  for (let dir = __dirname; dirname(dir) !== dir; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'examples'))) return dir;
  }
  return resolve(__dirname, '..', '..');
}

/** Bad input from the user: printed as one message, exit status 2. */
export class BadInput extends Error {}

/** A model file's text and the name it is reported under. */
export interface ModelText {
  name: string;
  text: string;
}

/** Reads the model file named by --model, else the one at the root (unless --no-model-file). */
export function modelTextOnDisk(args: CliArgs, root: string): ModelText | undefined {
  const modelFile =
    args.model ??
    (existsSync(join(root, '.lockpath.json')) && !args.noModelFile ? join(root, '.lockpath.json') : undefined);
  if (!modelFile) return undefined;
  try {
    // Named as the user gave it (--model), else relative to the tree (.lockpath.json).
    return { name: args.model ?? (relative(root, modelFile) || modelFile), text: readFileSync(modelFile, 'utf8') };
  } catch (e) {
    throw new BadInput(`cannot read the model file ${modelFile}: ${(e as Error).message}`);
  }
}

/** Findings the model file lists as reviewed, with the file's name. */
export type Reviewed = { source: string; entries: { id: string; reason: string }[] } | undefined;

/** A Workspace with the model, assumptions, config and caches the arguments ask for, and the model file's notes. */
export async function openWorkspace(
  args: CliArgs,
  modelText: ModelText | undefined,
): Promise<{ ws: Workspace; problems: Problem[]; reviewed: Reviewed }> {
  const parser = await loadParser();
  // One resolution for the CLI and the server (files/model-config.ts).
  const resolved = resolveModel({
    file: modelText ? { name: modelText.name, source: modelText.name, text: modelText.text } : undefined,
    assumptions: Object.fromEntries(args.assume),
    assumptionsSource: 'command line',
  });
  const errors = resolved.problems.filter((p) => p.severity === 'error');
  if (errors.length)
    throw new BadInput(
      errors.map((p) => `${modelText?.name}:${p.at.line + 1}:${p.at.column + 1}: ${p.message}`).join('\n'),
    );
  if (resolved.unknownAssumptions.length)
    throw new BadInput(
      `unknown assumption ${resolved.unknownAssumptions.join(', ')} (known: ${resolved.knownAssumptions.join(', ')})`,
    );
  let { model: fixed, overlay } = resolved;
  if (args.config) {
    const kernelConfig = readKernelConfig(args.config);
    if (fixed) fixed = applyModelFile(fixed, { kernelConfig }, fixed.source);
    else overlay = { file: { ...overlay?.file, kernelConfig }, source: overlay?.source ?? 'command line' };
  }
  const reviewed: Reviewed =
    resolved.reviewed && modelText ? { source: modelText.name, entries: resolved.reviewed } : undefined;
  const cacheDir = args.cache ? defaultCacheDir(VERSION) : undefined;
  const indexCache = cacheDir ? new DiskIndexCache(cacheDir) : undefined;
  const exploreStore = cacheDir ? new DiskExploreStore(cacheDir) : undefined;
  const ws = new Workspace(parser, {
    model: fixed,
    overlay,
    maxStates: args.maxStates,
    maxFileBytes: args.maxFileBytes,
    indexCache,
    exploreStore,
  });
  return { ws, problems: [...resolved.problems], reviewed };
}

/** --config FILE: a kernel .config, or a clear message with the line it could not read. */
function readKernelConfig(path: string): { source: string; symbols: Record<string, boolean> } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new BadInput(`cannot read the kernel config ${path}: ${(e as Error).message}`);
  }
  const parsed = parseKernelConfig(text);
  if ('error' in parsed) throw new BadInput(`${path}:${parsed.line + 1}: ${parsed.error}`);
  return { source: path, symbols: parsed.symbols };
}

/** An analysis as the CLI reports it: suppressions applied, and what was not checked. */
export type Checked = Analysis & { outcome: CheckOutcome };

/**
 * Analyses a set of texts once: the model file's notes and the caller's notes come first among the problems;
 * findings suppressed in the source or by the model file are set aside with their reasons.
 */
export async function analyzeTexts(
  args: CliArgs,
  files: Iterable<[string, string]>,
  modelText: ModelText | undefined,
  notes: Problem[] = [],
): Promise<Checked> {
  const { ws, problems, reviewed } = await openWorkspace(args, modelText);
  try {
    const texts = new Map<string, string>();
    for (const [rel, text] of files) {
      ws.setFile(rel, text);
      texts.set(rel, text);
    }
    const a = ws.analyze();
    a.problems.unshift(...problems, ...notes);
    const s = suppressFindings(
      a.findings,
      a.files.map((f) => ({ file: f.file, text: texts.get(f.file) ?? '', functions: f.functions })),
      reviewed,
    );
    a.findings = s.kept;
    a.problems.push(...s.problems);
    return Object.assign(a, { outcome: { incomplete: incompleteness(a), suppressed: s.suppressed } });
  } finally {
    ws.dispose();
  }
}

/** A chain the search could not finish: the answer is not "safe" but "did not look everywhere". */
export function incomplete(a: Analysis): boolean {
  return a.chains.some((c) => c.verdict.verdict === 'inconclusive');
}
