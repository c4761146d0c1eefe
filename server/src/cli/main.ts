// The `lockpath` command: a thin adapter that reads files, runs the analysis library and prints its results.
//   lockpath [check] [paths...]      findings (exit 0 all checked and no race, 1 races, 2 bad input, 3 incomplete)
//   lockpath demo                    check on the bundled v4.12 example
//   lockpath review BASE..HEAD | --patch FILE [TREE];  lockpath check --baseline OLD.json;  lockpath history A..B
//   lockpath chains [paths...]       every stage-2 chain per walker, with context, locks, guards, verdict
//   lockpath explain FUNCTION [paths...]
//   lockpath serve --stdio           the language server, for editors other than VS Code
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Analysis } from '../analysis';
import { collectSources, GlobError } from '../files/collect';
import { describeScope, findKernelRoot } from '../files/scope';
import { debugText } from '../report/debug';
import { reportHtml } from '../report/html';
import { reportJson } from '../report/json';
import { reportSarif } from '../report/sarif';
import { chainsText, explainText, findingsText } from '../report/text';
import { analyzeTexts, BadInput, modelTextOnDisk, packageRoot, VERSION, type Checked } from './analyze';
import { parseArgs, usage, type CliArgs } from './args';
import { checkAgainstBaseline } from './baseline';
import { historyCommand } from './history';
import { reviewCommand } from './review';

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
    startServer();
    return -1; // keeps running
  }
  try {
    if (args.command === 'review') return await reviewCommand(args, out);
    if (args.command === 'history') return await historyCommand(args, out);
    const analysis = await analyzePaths(args);
    if (args.baseline !== undefined) return checkAgainstBaseline(args, analysis, out);
    if (!args.json && args.sarif !== '-' && args.command !== 'debug') out(`lockpath: ${analysis.scopeLine}\n`);
    return report(args, analysis, out);
  } catch (e) {
    if (e instanceof BadInput) {
      process.stderr.write(`lockpath: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

/** The folders to analyse: the PATHs; for demo the bundled example; else the kernel tree the current folder is in. */
function pathsToAnalyse(args: CliArgs): string[] {
  if (args.command === 'demo') return [join(packageRoot(), 'examples', 'v4.12')];
  if (args.paths.length) return args.paths;
  const kernel = findKernelRoot(process.cwd());
  if (kernel) return [kernel];
  throw new BadInput(
    `${process.cwd()} is not inside a kernel tree (virt/kvm beside arch/*/kvm): give a PATH, e.g. lockpath check /path/to/linux, or run lockpath demo for the bundled example`,
  );
}

async function analyzePaths(args: CliArgs): Promise<Checked & { root: string; scopeLine: string }> {
  const paths = pathsToAnalyse(args);
  const files: { abs: string; rel: string }[] = [];
  const notes: Analysis['problems'] = [];
  const scopeLines: string[] = [];
  const roots = paths.map((p) => resolve(p));
  for (const p of roots) {
    if (!existsSync(p)) throw new BadInput(`no such file or directory: ${p}`);
    if (statSync(p).isDirectory()) {
      let c: ReturnType<typeof collectSources>;
      try {
        c = collectSources(p, { include: args.include, exclude: args.exclude, maxBytes: args.maxFileBytes });
      } catch (e) {
        if (e instanceof GlobError) throw new BadInput(e.message);
        throw e;
      }
      if (!c.files.length) throw new BadInput(`no C files (*.c, *.h) under ${p}`);
      scopeLines.push(`${roots.length === 1 ? '' : `${p}: `}${describeScope(c.scope, c.files, c.excluded)}`);
      for (const f of c.files) files.push({ abs: join(p, f), rel: roots.length === 1 ? f : join(basename(p), f) });
      for (const s of c.skipped)
        notes.push({
          file: roots.length === 1 ? s.file : join(basename(p), s.file),
          at: { line: 0, column: 0, endLine: 0, endColumn: 0 },
          severity: 'info',
          message: `lockpath: skipped: ${s.reason}`,
        });
    } else {
      files.push({ abs: p, rel: roots.length === 1 ? basename(p) : relative(process.cwd(), p) });
    }
  }
  const root = roots.length === 1 && statSync(roots[0]).isDirectory() ? roots[0] : process.cwd();
  if (!scopeLines.length) scopeLines.push(`read ${files.length} file${files.length === 1 ? '' : 's'}`);
  const texts = files.map((f): [string, string] => {
    try {
      return [f.rel, readFileSync(f.abs, 'utf8')];
    } catch (e) {
      throw new BadInput(`cannot read ${f.abs}: ${(e as Error).message}`);
    }
  });
  const a = await analyzeTexts(args, texts, modelTextOnDisk(args, root), notes);
  return Object.assign(a, { root, scopeLine: scopeLines.join('; ') });
}

/** The exit status of check: races 1, else incomplete 3, else 0; --fail-on lets CI choose which fail. */
export function exitStatus(races: number, incomplete: number, failOn: CliArgs['failOn']): number {
  if (failOn === 'none') return 0;
  if (races) return 1;
  return incomplete && failOn === 'incomplete' ? 3 : 0;
}

function report(args: CliArgs, a: Checked & { root: string }, out: (s: string) => void): number {
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
    const sarif = `${JSON.stringify(reportSarif(a, VERSION, a.root, a.outcome), null, 2)}\n`;
    if (args.sarif === '-') out(sarif);
    else writeFileSync(args.sarif, sarif);
  }
  if (args.html) {
    // Steps link to the source file on this machine; the report itself fetches nothing.
    const linkFor = (file: string): string => pathToFileURL(resolve(a.root, file)).href;
    writeFileSync(args.html, reportHtml(reportJson(a, VERSION, a.outcome), { linkFor }));
  }
  if (args.json) {
    const json = reportJson(a, VERSION, a.outcome);
    out(
      `${JSON.stringify(args.command === 'chains' ? { lockpath: json.lockpath, model: json.model, summary: json.summary, chains: json.chains, contextChecks: json.contextChecks, incomplete: json.incomplete, problems: json.problems } : json, null, 2)}\n`,
    );
  } else if (args.sarif !== '-') {
    out(`${args.command === 'chains' ? chainsText(a, VERSION) : findingsText(a, VERSION, args.verbose, a.outcome)}\n`);
  }
  if (args.command === 'chains') return 0;
  return exitStatus(races, a.outcome.incomplete.length, args.failOn);
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
