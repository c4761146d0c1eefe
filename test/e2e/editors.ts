// Shared by the real-editor tests (neovim, eglot, vscode): throwaway homes, a scratch copy of the example, finding
// the installed editors, and running a child process with a bound, killed with its whole process group.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { exampleDir, repoRoot } from '../helpers';

export const lockpathBin = join(repoRoot, 'bin', 'lockpath.js');
export const serverCommand = [process.execPath, lockpathBin, 'serve', '--stdio'];
export const MMU = 'virt/kvm/arm/mmu.c';
export const SETUP_HINT = 'run `bash scripts/setup-editors.sh` (it installs the editors the e2e tests drive)';

/** Where scripts/setup-editors.sh installs code-server: $LOCKPATH_CACHE/editors, default ~/.cache/lockpath/editors. */
export const editorsPrefix = join(process.env.LOCKPATH_CACHE || join(homedir(), '.cache', 'lockpath'), 'editors');

/** A temp folder with its own HOME, XDG folders and TMPDIR, and a scratch copy of the bundled example in root/. */
export interface Sandbox {
  dir: string;
  root: string;
  env: NodeJS.ProcessEnv;
}

export function sandbox(name: string): Sandbox {
  const dir = mkdtempSync(join(tmpdir(), `lockpath-e2e-${name}-`));
  const home = join(dir, 'home');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_DATA_HOME: join(home, '.local', 'share'),
    XDG_STATE_HOME: join(home, '.local', 'state'),
    XDG_CACHE_HOME: join(home, '.cache'),
    XDG_RUNTIME_DIR: join(dir, 'run'),
    TMPDIR: join(dir, 'tmp'),
  };
  for (const k of [
    'HOME',
    'XDG_CONFIG_HOME',
    'XDG_DATA_HOME',
    'XDG_STATE_HOME',
    'XDG_CACHE_HOME',
    'XDG_RUNTIME_DIR',
    'TMPDIR',
  ])
    mkdirSync(env[k]!, { recursive: true, mode: 0o700 });
  // The editors edit the example (the quick fix): a copy keeps the repo's own files out of reach of any save.
  const root = join(dir, 'v4.12');
  cpSync(exampleDir, root, { recursive: true });
  return { dir, root, env };
}

/** The build the editors start the server from must be there: say so by name rather than time out. */
export function requireBuild(): void {
  const cli = join(repoRoot, 'dist', 'cli', 'lockpath.js');
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\` first`);
}

/** An executable on PATH, or an Error naming what is missing and how to install it. */
export function requireCommand(cmd: string, args: string[], what: string): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 30_000 });
  if (r.error || r.status !== 0)
    throw new Error(
      `${what} is missing: \`${cmd} ${args.join(' ')}\` failed (${r.error?.message ?? `exit ${r.status}: ${r.stderr.trim()}`}); ${SETUP_HINT}`,
    );
  return (r.stdout || r.stderr).trim().split('\n')[0];
}

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  timedOut: boolean;
}

/** Runs a program in its own process group with stdin closed; past `ms` the whole group is killed. */
export function runBounded(
  cmd: string,
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; ms: number },
): Promise<Run> {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child, 'SIGKILL');
    }, opts.ms);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({
        code: null,
        signal: null,
        stdout,
        stderr: `${stderr}${e.message}`,
        ms: performance.now() - started,
        timedOut,
      });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      // Anything it left behind in its group (the language server) goes with it.
      killGroup(child, 'SIGKILL');
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started, timedOut });
    });
  });
}

/** Signals a detached child's whole process group (its pid is the group id); quiet when it is already gone. */
export function killGroup(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): void {
  if (!child?.pid) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** The JSON lines of an editor script's stdout, by step name (the last of each). */
export function stepsOf(stdout: string): Map<string, Record<string, unknown>> {
  const steps = new Map<string, Record<string, unknown>>();
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const o = JSON.parse(line) as Record<string, unknown>;
      if (typeof o.step === 'string') steps.set(o.step, o);
    } catch {
      // not one of ours
    }
  }
  return steps;
}

/** The guard the preferred fix inserts into kvm_age_hva (and kvm_test_age_hva). */
export const GUARD = 'if (!kvm->arch.pgd)\n\t\treturn 0;';

/**
 * The first fenced block of `lang` after the line starting with `heading` in README.md, with the README's server
 * command (`lockpath serve --stdio`, spelled `from`) swapped for this checkout's (`to`): the config a reader copies.
 */
export function readmeSnippet(heading: string, lang: string, from: string, to: string): string {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const at = readme.indexOf(`\n${heading}`);
  if (at < 0) throw new Error(`README.md has no line starting with ${heading}`);
  const m = new RegExp('```' + lang + '\\n([\\s\\S]*?)\\n```').exec(readme.slice(at));
  if (!m) throw new Error(`README.md has no \`\`\`${lang} block after ${heading}`);
  if (!m[1].includes(from))
    throw new Error(`the README's ${lang} block after ${heading} does not start the server as ${from}`);
  return m[1].split(from).join(to);
}
