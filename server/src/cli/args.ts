// Command-line words to options. Hand-written: a dozen flags do not need a library.
import { DEBUG_STAGES, type DebugStage } from '../report/debug';

export interface CliArgs {
  command: 'check' | 'chains' | 'explain' | 'serve' | 'debug';
  function?: string;
  /** debug: which stage's data to print (report/debug.ts). */
  stage?: DebugStage;
  paths: string[];
  json: boolean;
  /** A file to write SARIF to, or '-' for standard output. */
  sarif?: string;
  html?: string;
  model?: string;
  noModelFile: boolean;
  assume: [string, boolean][];
  include?: string[];
  exclude?: string[];
  maxStates?: number;
  maxFileBytes?: number;
  verbose: boolean;
  /** Keep indexed facts in the on-disk cache (default on). */
  cache: boolean;
  help: boolean;
  version: boolean;
  stdio: boolean;
}

export const usage = `usage: lockpath [check] [PATH...] [--json | --sarif[=FILE]] [options]
       lockpath chains [PATH...] [--json] [options]
       lockpath explain FUNCTION [PATH...] [options]
       lockpath debug facts|program|witness|chains FUNCTION [PATH...] [options]
       lockpath serve --stdio

With no PATH, analyses the bundled v4.12 example. A PATH is a C file or a folder (a kernel tree's root reads only
its KVM folders). A .lockpath.json at the folder's root is used as the model file.

options:
  --json                 machine-readable output (docs/json-shape.md)
  --sarif[=FILE]         SARIF 2.1.0 to FILE (default: standard output)
  --html FILE            a standalone HTML report with the race timelines (opens without network)
  --model FILE           model file to use (instead of PATH/.lockpath.json)
  --no-model-file        ignore PATH/.lockpath.json
  --assume ID=on|off     switch a lifetime assumption, e.g. --assume vcpu-thread-pins-mm=off
  --include GLOB         read only matching files (repeatable; relative to the folder)
  --exclude GLOB         skip matching files (repeatable)
  --max-states N         bound of the interleaving search per entry and teardown path
  --max-file-size BYTES  skip larger files
  --verbose              also print notes about macro regions the parser could not read
  --no-cache             do not read or write the caches of facts and explorations ($LOCKPATH_CACHE, default ~/.cache/lockpath)
  --version, --help

exit status: check: 1 when races are found, 0 when none; 2 on bad input.
`;

export function parseArgs(argv: readonly string[]): CliArgs {
  const a: CliArgs = { command: 'check', paths: [], json: false, noModelFile: false, assume: [], verbose: false, cache: true, help: false, version: false, stdio: false };
  const rest = [...argv];
  if (rest[0] && ['check', 'chains', 'explain', 'serve', 'debug'].includes(rest[0])) a.command = rest.shift() as CliArgs['command'];
  const value = (flag: string, inline: string | undefined): string => {
    const v = inline ?? rest.shift();
    if (v === undefined || (inline === undefined && v.startsWith('--'))) throw new Error(`${flag} needs a value`);
    return v;
  };
  const positive = (flag: string, v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag} takes a positive whole number, not "${v}"`);
    return n;
  };
  while (rest.length) {
    const word = rest.shift()!;
    if (!word.startsWith('--')) {
      if (a.command === 'debug' && !a.stage) a.stage = debugStage(word);
      else if ((a.command === 'explain' || a.command === 'debug') && !a.function) a.function = word;
      else a.paths.push(word);
      continue;
    }
    const eq = word.indexOf('=');
    const flag = eq > 0 ? word.slice(0, eq) : word;
    const inline = eq > 0 ? word.slice(eq + 1) : undefined;
    switch (flag) {
      case '--json': a.json = true; break;
      case '--sarif': a.sarif = inline ?? '-'; break;
      case '--html': a.html = value(flag, inline); break;
      case '--model': a.model = value(flag, inline); break;
      case '--no-model-file': a.noModelFile = true; break;
      case '--assume': {
        const v = value(flag, inline);
        const m = /^([\w-]+)=(on|off|true|false)$/.exec(v);
        if (!m) throw new Error(`--assume takes ID=on or ID=off, not "${v}"`);
        a.assume.push([m[1], m[2] === 'on' || m[2] === 'true']);
        break;
      }
      case '--include': (a.include ??= []).push(value(flag, inline)); break;
      case '--exclude': (a.exclude ??= []).push(value(flag, inline)); break;
      case '--max-states': a.maxStates = positive(flag, value(flag, inline)); break;
      case '--max-file-size': a.maxFileBytes = positive(flag, value(flag, inline)); break;
      case '--verbose': a.verbose = true; break;
      case '--no-cache': a.cache = false; break;
      case '--stdio': a.stdio = true; break;
      case '--help': a.help = true; break;
      case '--version': a.version = true; break;
      default: throw new Error(`unknown option ${flag}`);
    }
  }
  if (a.command === 'explain' && !a.function && !a.help) throw new Error('explain needs a FUNCTION');
  if (a.command === 'debug' && !a.function && !a.help) throw new Error(`debug needs a stage (${DEBUG_STAGES.join(', ')}) and a FUNCTION`);
  if (a.command === 'serve' && !a.stdio && !a.help) throw new Error('serve speaks LSP over standard input and output: lockpath serve --stdio');
  if (a.json && a.sarif === '-') throw new Error('--json and --sarif both write to standard output; give --sarif=FILE');
  return a;
}

function debugStage(word: string): DebugStage {
  const stage = DEBUG_STAGES.find((s) => s === word);
  if (!stage) throw new Error(`debug shows one of ${DEBUG_STAGES.join(', ')}, not "${word}"`);
  return stage;
}
