// What every analysing command shares: the model (model file, --model, --assume), the caches on disk, and a
// Workspace set up with them. Files come from the caller: a folder on disk, git objects, or a patched tree.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { builtinModels, loadModelFile, loadParser, Workspace, type Analysis, type Model, type ModelFile, type Problem } from '../analysis';
import { applyModelFile } from '../analysis/model/loader';
import { DiskExploreStore, DiskIndexCache, defaultCacheDir } from '../files/index-cache';
import type { CliArgs } from './args';

export const VERSION: string = (() => {
  try {
    return JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')).version;
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
  const modelFile = args.model ?? (existsSync(join(root, '.lockpath.json')) && !args.noModelFile ? join(root, '.lockpath.json') : undefined);
  if (!modelFile) return undefined;
  try {
    return { name: relative(root, modelFile) || modelFile, text: readFileSync(modelFile, 'utf8') };
  } catch (e) {
    throw new BadInput(`cannot read the model file ${modelFile}: ${(e as Error).message}`);
  }
}

/** A Workspace with the model, assumptions and caches the arguments ask for, and the model file's notes. */
export async function openWorkspace(args: CliArgs, modelText: ModelText | undefined): Promise<{ ws: Workspace; problems: Problem[] }> {
  const parser = await loadParser();
  const problems: Problem[] = [];
  let overlay: { file: ModelFile; source: string } | undefined;
  let fixed: Model | undefined;
  if (modelText) {
    const loaded = loadModelFile(modelText.name, modelText.text);
    const errors = loaded.problems.filter((p) => p.severity === 'error');
    if (errors.length) throw new BadInput(errors.map((p) => `${modelText.name}:${p.at.line + 1}:${p.at.column + 1}: ${p.message}`).join('\n'));
    problems.push(...loaded.problems);
    if (loaded.auto && loaded.file) overlay = { file: loaded.file, source: modelText.name };
    else fixed = loaded.model;
  }
  if (args.assume.length) {
    const known = builtinModels[0].assumptions.map((a) => a.id);
    const unknown = args.assume.filter(([id]) => !known.includes(id)).map(([id]) => id);
    if (unknown.length) throw new BadInput(`unknown assumption ${unknown.join(', ')} (known: ${known.join(', ')})`);
    const assumptions = Object.fromEntries(args.assume);
    if (fixed) fixed = applyModelFile(fixed, { assumptions }, fixed.source);
    else overlay = { file: { ...overlay?.file, assumptions: { ...overlay?.file.assumptions, ...assumptions } }, source: overlay?.source ?? 'command line' };
  }
  const cacheDir = args.cache ? defaultCacheDir(VERSION) : undefined;
  const indexCache = cacheDir ? new DiskIndexCache(cacheDir) : undefined;
  const exploreStore = cacheDir ? new DiskExploreStore(cacheDir) : undefined;
  const ws = new Workspace(parser, { model: fixed, overlay, maxStates: args.maxStates, maxFileBytes: args.maxFileBytes, indexCache, exploreStore });
  return { ws, problems };
}

/** Analyses a set of texts once: the model file's notes and the caller's notes come first among the problems. */
export async function analyzeTexts(args: CliArgs, files: Iterable<[string, string]>, modelText: ModelText | undefined, notes: Problem[] = []): Promise<Analysis> {
  const { ws, problems } = await openWorkspace(args, modelText);
  try {
    for (const [rel, text] of files) ws.setFile(rel, text);
    const a = ws.analyze();
    a.problems.unshift(...problems, ...notes);
    return a;
  } finally {
    ws.dispose();
  }
}

/** A chain the search could not finish: the answer is not "safe" but "did not look everywhere". */
export function incomplete(a: Analysis): boolean {
  return a.chains.some((c) => c.verdict.verdict === 'inconclusive');
}
