// Command-line words to options, through node's util.parseArgs; this file adds the commands, the checks of values
// and error messages that name the flag.
import { parseArgs as parseWords } from 'node:util';
import { DEBUG_STAGES, type DebugStage } from '../report/debug';

export const COMMANDS = ['check', 'chains', 'explain', 'serve', 'demo', 'review', 'history', 'debug'] as const;
export type Command = (typeof COMMANDS)[number];

export interface CliArgs {
  command: Command;
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
  /** Which outcomes of check make the exit status non-zero (default incomplete: races 1, incomplete 3). */
  failOn: 'race' | 'incomplete' | 'none';
  /** A kernel .config fixing the configuration symbols. */
  config?: string;
  /** review, history: BASE..HEAD (or A..B). */
  range?: string;
  /** review --patch FILE: a mailed patch or series applied to the tree. */
  patch?: string;
  /** check --baseline OLD.json: an earlier `check --json`; findings are then reported as new, fixed, unchanged. */
  baseline?: string;
  /** review: text (default) or email (a plain-text reply body). */
  format: 'text' | 'email';
  /** history --shard i/n: the i-th of n slices of the commits (1-based). */
  shard?: { index: number; count: number };
  /** history --merge FILE...: join shard outputs. */
  merge: boolean;
}

export const usage = `usage: lockpath [check] [PATH...] [--json | --sarif[=FILE]] [options]
       lockpath check --baseline OLD.json [PATH...] [--json] [options]
       lockpath review BASE..HEAD [PATH] [--json | --format=email] [options]
       lockpath review --patch FILE [TREE] [--json | --format=email] [options]
       lockpath history A..B [PATH] [--shard i/n] [options]
       lockpath history --merge FILE...
       lockpath chains [PATH...] [--json] [options]
       lockpath explain FUNCTION [PATH...] [options]
       lockpath demo [options]
       lockpath debug facts|program|witness|chains FUNCTION [PATH...] [options]
       lockpath serve --stdio

With no PATH, analyses the kernel tree the current folder is in (lockpath demo: the bundled v4.12 example). A PATH
is a C file or a folder (a kernel tree, known by virt/kvm beside arch/*/kvm, reads only its KVM folders). A
.lockpath.json at the folder's root is used as the model file.

review reads both revisions from git objects (nothing is checked out) or applies a patch (mbox or git
format-patch) in memory to TREE, and prints the findings new, fixed and unchanged by id. history analyses each
commit of A..B that touches the analysed folders and says which commit introduced and which removed each finding.

options:
  --json                 machine-readable output (docs/json-shape.md)
  --sarif[=FILE]         SARIF 2.1.0 to FILE (default: standard output)
  --html FILE            a standalone HTML report with the race timelines (opens without network)
  --model FILE           model file to use (instead of PATH/.lockpath.json)
  --no-model-file        ignore PATH/.lockpath.json
  --assume ID=on|off     switch a lifetime assumption, e.g. --assume vcpu-thread-pins-mm=off
  --include GLOB         read only matching files (repeatable; relative to the folder)
  --exclude GLOB         skip matching files (repeatable)
  --config FILE          a kernel .config: #if/#ifdef/IS_ENABLED take the configured branch (unset CONFIG_ symbols are off)
  --max-states N         bound of the interleaving search per entry and teardown path
  --max-file-size BYTES  skip larger files
  --verbose              also print notes about macro regions the parser could not read
  --no-cache             do not read or write the caches of facts and explorations ($LOCKPATH_CACHE, default ~/.cache/lockpath)
  --fail-on WHAT         race: exit 1 on races only; incomplete (default): also 3 when not everything was
                         checked; none: 0 unless the input is bad
  --patch FILE           review: the patch or series to apply to TREE (default: the current folder)
  --baseline OLD.json    check: compare with an earlier check --json
  --format text|email    review: email prints a plain-text reply body (at most 80 columns)
  --shard i/n            history: run the i-th of n slices of the commits (join them with --merge)
  --merge                history: join the shard outputs named as FILE...
  --version, --help

exit status of check: 0 every chain got a verdict, nothing in scope was skipped, and no race was found;
  1 races found (even when the run is also incomplete); 2 bad input or usage; 3 no race found, but not everything
  was checked (an inconclusive chain, the search bound hit, a file or folder skipped, no resource or no chain
  found; the report lists what and why). review and check --baseline: 1 when a finding is new, 3 when nothing
  is new but not everything was checked, else 0. --fail-on changes which of these fail.
`;

const OPTIONS = {
  json: { type: 'boolean' },
  sarif: { type: 'string' },
  html: { type: 'string' },
  model: { type: 'string' },
  'no-model-file': { type: 'boolean' },
  assume: { type: 'string', multiple: true },
  include: { type: 'string', multiple: true },
  exclude: { type: 'string', multiple: true },
  'max-states': { type: 'string' },
  'max-file-size': { type: 'string' },
  verbose: { type: 'boolean' },
  'no-cache': { type: 'boolean' },
  stdio: { type: 'boolean' },
  help: { type: 'boolean' },
  version: { type: 'boolean' },
  'fail-on': { type: 'string', default: 'incomplete' },
  config: { type: 'string' },
  patch: { type: 'string' },
  baseline: { type: 'string' },
  format: { type: 'string', default: 'text' },
  shard: { type: 'string' },
  merge: { type: 'boolean' },
} as const;

/** Turns util.parseArgs' messages into ours, which name the flag as the user typed it. */
function ourMessage(e: Error & { code?: string }): string {
  const flag = /'(-[-\w]+)/.exec(e.message)?.[1] ?? '';
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${flag}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return /does not take an argument/.test(e.message) ? `${flag} takes no value` : `${flag} needs a value`;
    default:
      return e.message;
  }
}

const positive = (flag: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag} takes a positive whole number, not "${v}"`);
  return n;
};

function oneOf<T extends string>(flag: string, v: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(v))
    throw new Error(`${flag} takes ${allowed.slice(0, -1).join(', ')} or ${allowed[allowed.length - 1]}, not "${v}"`);
  return v as T;
}

export function parseArgs(argv: readonly string[]): CliArgs {
  const words = [...argv];
  const command: Command =
    words[0] && (COMMANDS as readonly string[]).includes(words[0]) ? (words.shift() as Command) : 'check';
  // A bare --sarif means standard output: util.parseArgs has no optional values, so it is spelled out here.
  const normalized = words.map((w) => (w === '--sarif' ? '--sarif=-' : w));
  let parsed: ReturnType<
    typeof parseWords<{ args: string[]; options: typeof OPTIONS; allowPositionals: true; strict: true }>
  >;
  try {
    parsed = parseWords({ args: normalized, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    throw new Error(ourMessage(e as Error & { code?: string }));
  }
  const v = parsed.values;
  const positionals = [...parsed.positionals];
  const a: CliArgs = {
    command,
    paths: [],
    json: !!v.json,
    sarif: v.sarif,
    html: v.html,
    model: v.model,
    noModelFile: !!v['no-model-file'],
    assume: (v.assume ?? []).map((s) => {
      const m = /^([\w-]+)=(on|off|true|false)$/.exec(s);
      if (!m) throw new Error(`--assume takes ID=on or ID=off, not "${s}"`);
      return [m[1], m[2] === 'on' || m[2] === 'true'] as [string, boolean];
    }),
    include: v.include,
    exclude: v.exclude,
    maxStates: positive('--max-states', v['max-states']),
    maxFileBytes: positive('--max-file-size', v['max-file-size']),
    verbose: !!v.verbose,
    cache: !v['no-cache'],
    help: !!v.help,
    version: !!v.version,
    stdio: !!v.stdio,
    failOn: oneOf('--fail-on', v['fail-on'], ['race', 'incomplete', 'none'] as const),
    config: v.config,
    patch: v.patch,
    baseline: v.baseline,
    format: oneOf('--format', v.format, ['text', 'email'] as const),
    merge: !!v.merge,
  };
  if (v.shard !== undefined) {
    const m = /^(\d+)\/(\d+)$/.exec(v.shard);
    const index = m ? Number(m[1]) : 0;
    const count = m ? Number(m[2]) : 0;
    if (!m || index < 1 || count < 1 || index > count)
      throw new Error(`--shard takes i/n with 1 <= i <= n, not "${v.shard}"`);
    a.shard = { index, count };
  }
  if (command === 'debug' && positionals.length) a.stage = debugStage(positionals.shift()!);
  if ((command === 'explain' || command === 'debug') && positionals.length) a.function = positionals.shift();
  if ((command === 'review' && !a.patch) || (command === 'history' && !a.merge)) {
    const range = positionals.shift();
    if (!range && !a.help)
      throw new Error(
        `${command} needs a revision range, e.g. lockpath ${command} ${command === 'review' ? 'origin/master..HEAD' : 'v4.10..v4.13'}`,
      );
    const dots = range?.indexOf('..') ?? -1;
    if (range && (dots <= 0 || dots + 2 >= range.length || range.includes('...')) && !a.help)
      throw new Error(`${command} takes a range BASE..HEAD, not "${range}"`);
    a.range = range;
  }
  a.paths = positionals;
  if (command === 'demo' && a.paths.length)
    throw new Error(`demo analyses the bundled example and takes no PATH; for your tree: lockpath check ${a.paths[0]}`);
  if (command === 'explain' && !a.function && !a.help) throw new Error('explain needs a FUNCTION');
  if (command === 'debug' && !a.function && !a.help)
    throw new Error(`debug needs a stage (${DEBUG_STAGES.join(', ')}) and a FUNCTION`);
  if (command === 'serve' && !a.stdio && !a.help)
    throw new Error('serve speaks LSP over standard input and output: lockpath serve --stdio');
  if (a.json && a.sarif === '-') throw new Error('--json and --sarif both write to standard output; give --sarif=FILE');
  if (a.format === 'email' && a.json)
    throw new Error('--json and --format=email both write to standard output; give one');
  if (a.format === 'email' && command !== 'review') throw new Error('--format=email is for lockpath review');
  if (a.patch !== undefined && command !== 'review') throw new Error('--patch is for lockpath review');
  if (a.baseline !== undefined && command !== 'check') throw new Error('--baseline is for lockpath check');
  if ((a.sarif !== undefined || a.html !== undefined) && (command === 'review' || command === 'history'))
    throw new Error(
      `--${a.sarif !== undefined ? 'sarif' : 'html'} is not for lockpath ${command}: it reports one tree (lockpath check)`,
    );
  if (a.baseline !== undefined && (a.sarif !== undefined || a.html !== undefined))
    throw new Error('--baseline prints new, fixed and unchanged findings; run check without it for --sarif or --html');
  if ((a.shard || a.merge) && command !== 'history')
    throw new Error(`--${a.shard ? 'shard' : 'merge'} is for lockpath history`);
  if (a.merge && a.shard) throw new Error('--merge joins shard outputs; it takes no --shard');
  if (a.merge && !a.paths.length && !a.help)
    throw new Error('history --merge needs the shard outputs: lockpath history --merge FILE...');
  if (command === 'review' && a.patch !== undefined && a.paths.length > 1)
    throw new Error('review --patch takes one TREE');
  return a;
}

function debugStage(word: string): DebugStage {
  const stage = DEBUG_STAGES.find((s) => s === word);
  if (!stage) throw new Error(`debug shows one of ${DEBUG_STAGES.join(', ')}, not "${word}"`);
  return stage;
}
