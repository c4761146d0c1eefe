// Shared by the tests: where the repo is, and how to analyse a folder or a few texts with the real parser.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { loadParser, Workspace, type Analysis, type WorkspaceOptions } from '../server/src/analysis';

/** The repository root (tests run from dist/test/**, sources live beside them). */
export const repoRoot: string = (() => {
  for (let dir = __dirname; dirname(dir) !== dir; dir = dirname(dir)) {
    try {
      if (statSync(join(dir, 'examples')).isDirectory() && statSync(join(dir, 'package.json')).isFile()) return dir;
    } catch {
      // keep looking upwards
    }
  }
  throw new Error('repository root not found');
})();

export const exampleDir = join(repoRoot, 'examples', 'v4.12');
export const fixturesDir = join(repoRoot, 'test', 'fixtures');

export function cFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((n) => {
      const p = join(dir, n);
      return statSync(p).isDirectory() ? cFiles(p) : /\.[ch]$/.test(n) ? [p] : [];
    });
}

export async function workspaceOf(files: Record<string, string>, opts: WorkspaceOptions = {}): Promise<Workspace> {
  const ws = new Workspace(await loadParser(), opts);
  for (const [path, text] of Object.entries(files)) ws.setFile(path, text);
  return ws;
}

export async function analyzeTexts(files: Record<string, string>, opts: WorkspaceOptions = {}): Promise<Analysis> {
  const ws = await workspaceOf(files, opts);
  try {
    return ws.analyze();
  } finally {
    ws.dispose();
  }
}

export function readDir(dir: string, only?: (rel: string) => boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of cFiles(dir)) {
    const rel = relative(dir, f);
    if (!only || only(rel)) out[rel] = readFileSync(f, 'utf8');
  }
  return out;
}

export async function analyzeDir(
  dir: string,
  opts: WorkspaceOptions = {},
  only?: (rel: string) => boolean,
): Promise<Analysis> {
  return analyzeTexts(readDir(dir, only), opts);
}

/** One line per chain: context, entry via, path. */
export function chainLines(a: Analysis): string[] {
  return a.chains.map(
    (c) => `${c.chain.context} | ${c.chain.entry.via} | ${c.chain.path.join(' > ')} | ${c.verdict.verdict}`,
  );
}

const scratch: string[] = [];
process.on('exit', () => scratch.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** A new folder under the system's temp folder, removed when the test process exits. */
export function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  scratch.push(dir);
  return dir;
}
