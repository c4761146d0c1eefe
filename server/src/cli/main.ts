// The `lockpath` command: a thin adapter that reads files, runs the analysis library and prints its results.
//   lockpath [check] [paths...]      findings (exit 1 when races are found, 0 when none, 2 on bad input)
//   lockpath chains [paths...]       every stage-2 chain per walker, with context, locks, guards, verdict
//   lockpath explain FUNCTION [paths...]
//   lockpath serve --stdio           the language server, for editors other than VS Code
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { builtinModels, loadModelFile, loadParser, Workspace, type Analysis } from '../analysis';
import { applyModelFile, type ModelFile } from '../analysis/model/loader';
import type { Model } from '../analysis/model/types';
import { collectSources } from '../files/collect';
import { DiskExploreStore, DiskIndexCache, defaultCacheDir } from '../files/index-cache';
import { reportHtml } from '../report/html';
import { reportJson } from '../report/json';
import { debugText } from '../report/debug';
import { reportSarif } from '../report/sarif';
import { chainsText, explainText, findingsText } from '../report/text';
import { parseArgs, usage, type CliArgs } from './args';

const VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
})();

function packageRoot(): string {
  for (let dir = __dirname; dirname(dir) !== dir; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'examples'))) return dir;
  }
  return resolve(__dirname, '..', '..');
}

class BadInput extends Error {}

export async function main(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  let args: CliArgs;
  try {
    args = parseArgs(argv);
  } catch (e) {
    process.stderr.write(`lockpath: ${(e as Error).message}\n${usage}`);
    return 2;
  }
  if (args.help) {
    out(usage);
    return 0;
  }
  if (args.version) {
    out(`${VERSION}\n`);
    return 0;
  }
  if (args.command === 'serve') {
    const { startServer } = await import('../lsp/server');
    const { createConnection, ProposedFeatures } = await import('vscode-languageserver/node');
    startServer(createConnection(ProposedFeatures.all));
    return -1; // keeps running
  }
  try {
    const analysis = await analyzePaths(args);
    return report(args, analysis, out);
  } catch (e) {
    if (e instanceof BadInput) {
      process.stderr.write(`lockpath: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

async function analyzePaths(args: CliArgs): Promise<Analysis & { root: string }> {
  const paths = args.paths.length ? args.paths : [join(packageRoot(), 'examples', 'v4.12')];
  const files: { abs: string; rel: string }[] = [];
  const notes: Analysis['problems'] = [];
  const roots = paths.map((p) => resolve(p));
  for (const p of roots) {
    if (!existsSync(p)) throw new BadInput(`no such file or directory: ${p}`);
    if (statSync(p).isDirectory()) {
      const c = collectSources(p, { include: args.include, exclude: args.exclude, maxBytes: args.maxFileBytes });
      if (!c.files.length) throw new BadInput(`no C files (*.c, *.h) under ${p}`);
      for (const f of c.files) files.push({ abs: join(p, f), rel: roots.length === 1 ? f : join(basename(p), f) });
      for (const s of c.skipped) notes.push({ file: roots.length === 1 ? s.file : join(basename(p), s.file), at: { line: 0, column: 0, endLine: 0, endColumn: 0 }, severity: 'info', message: `lockpath: skipped: ${s.reason}` });
    } else {
      files.push({ abs: p, rel: roots.length === 1 ? basename(p) : relative(process.cwd(), p) });
    }
  }
  const root = roots.length === 1 && statSync(roots[0]).isDirectory() ? roots[0] : process.cwd();
  const modelFile = args.model ?? (existsSync(join(root, '.lockpath.json')) && !args.noModelFile ? join(root, '.lockpath.json') : undefined);

  const parser = await loadParser();
  const problems: Analysis['problems'] = [];
  let overlay: { file: ModelFile; source: string } | undefined;
  let fixed: Model | undefined;
  if (modelFile) {
    let text: string;
    try {
      text = readFileSync(modelFile, 'utf8');
    } catch (e) {
      throw new BadInput(`cannot read the model file ${modelFile}: ${(e as Error).message}`);
    }
    const loaded = loadModelFile(relative(root, modelFile) || modelFile, text);
    const errors = loaded.problems.filter((p) => p.severity === 'error');
    if (errors.length) {
      throw new BadInput(errors.map((p) => `${modelFile}:${p.at.line + 1}:${p.at.column + 1}: ${p.message}`).join('\n'));
    }
    problems.push(...loaded.problems);
    if (loaded.auto && loaded.file) overlay = { file: loaded.file, source: modelFile };
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
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(f.abs, 'utf8');
    } catch (e) {
      throw new BadInput(`cannot read ${f.abs}: ${(e as Error).message}`);
    }
    ws.setFile(f.rel, text);
  }
  const a = ws.analyze();
  ws.dispose();
  a.problems.unshift(...problems, ...notes);
  return Object.assign(a, { root });
}

function report(args: CliArgs, a: Analysis & { root: string }, out: (s: string) => void): number {
  const races = a.findings.length;
  if (args.command === 'debug') {
    const d = debugText(a, args.stage!, args.function!);
    out(`${d.text}\n`);
    return d.found ? 0 : 2;
  }
  if (args.command === 'explain') {
    out(`${explainText(a, args.function!, VERSION)}\n`);
    return a.graph.lookup(args.function!) ? 0 : 2;
  }
  if (args.sarif) {
    const sarif = `${JSON.stringify(reportSarif(a, VERSION, a.root), null, 2)}\n`;
    if (args.sarif === '-') out(sarif);
    else writeFileSync(args.sarif, sarif);
  }
  if (args.html) {
    // Steps link to the source file on this machine; the report itself fetches nothing.
    const linkFor = (file: string): string => pathToFileURL(resolve(a.root, file)).href;
    writeFileSync(args.html, reportHtml(reportJson(a, VERSION), { linkFor }));
  }
  if (args.json) {
    const json = reportJson(a, VERSION);
    out(`${JSON.stringify(args.command === 'chains' ? { lockpath: json.lockpath, model: json.model, summary: json.summary, chains: json.chains, contextChecks: json.contextChecks, problems: json.problems } : json, null, 2)}\n`);
  } else if (args.sarif !== '-') {
    out(`${args.command === 'chains' ? chainsText(a, VERSION) : findingsText(a, VERSION, args.verbose)}\n`);
  }
  if (args.command === 'chains') return 0;
  return races ? 1 : 0;
}

/** Runs as the command: bin/lockpath.js calls this. */
export function run(): void {
  // `lockpath ... | head` closes the pipe early: that is the reader's choice, not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  main(process.argv.slice(2)).then(
    (code) => {
      if (code >= 0) process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`lockpath: internal error: ${(e as Error).stack ?? e}\n`);
      process.exitCode = 2;
    },
  );
}
