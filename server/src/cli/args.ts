// Command-line words to options. Hand-written: a dozen flags do not need a library.
export interface CliArgs {
  command: 'check' | 'chains' | 'explain' | 'serve';
  function?: string;
  paths: string[];
  json: boolean;
  /** A file to write SARIF to, or '-' for standard output. */
  sarif?: string;
  html?: string;
  model?: string;
  noModelFile: boolean;
  assume: [string, boolean][];
  /** A kernel .config fixing the configuration symbols. */
  config?: string;
  include?: string[];
  exclude?: string[];
  maxStates?: number;
  maxFileBytes?: number;
  verbose: boolean;
  /** Which outcomes of check make the exit status non-zero (default incomplete: races 1, incomplete 3). */
  failOn: 'race' | 'incomplete' | 'none';
  /** Keep indexed facts in the on-disk cache (default on). */
  cache: boolean;
  help: boolean;
  version: boolean;
  stdio: boolean;
}

export const usage = `usage: lockpath [check] [PATH...] [--json | --sarif[=FILE]] [options]
       lockpath chains [PATH...] [--json] [options]
       lockpath explain FUNCTION [PATH...] [options]
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
  --config FILE          a kernel .config: #if/#ifdef/IS_ENABLED take the configured branch (unset CONFIG_ symbols are off)
  --include GLOB         read only matching files (repeatable; relative to the folder)
  --exclude GLOB         skip matching files (repeatable)
  --max-states N         bound of the interleaving search per entry and teardown path
  --max-file-size BYTES  skip larger files
  --verbose              also print notes about macro regions the parser could not read
  --fail-on WHAT         race: exit 1 on races only; incomplete (default): also 3 when not everything was
                         checked; none: 0 unless the input is bad
  --no-cache             do not read or write the caches of facts and explorations ($LOCKPATH_CACHE, default ~/.cache/lockpath)
  --version, --help

exit status of check: 0 every chain got a verdict, nothing in scope was skipped, and no race was found;
  1 races found (even when the run is also incomplete); 2 bad input or usage; 3 no race found, but not everything
  was checked (an inconclusive chain, the search bound hit, a file or folder skipped, no resource or no chain
  found; the report lists what and why). --fail-on changes which of these fail.
`;

export function parseArgs(argv: readonly string[]): CliArgs {
  const a: CliArgs = { command: 'check', paths: [], json: false, noModelFile: false, assume: [], verbose: false, failOn: 'incomplete', cache: true, help: false, version: false, stdio: false };
  const rest = [...argv];
  if (rest[0] && ['check', 'chains', 'explain', 'serve'].includes(rest[0])) a.command = rest.shift() as CliArgs['command'];
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
      if (a.command === 'explain' && !a.function) a.function = word;
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
      case '--config': a.config = value(flag, inline); break;
      case '--include': (a.include ??= []).push(value(flag, inline)); break;
      case '--exclude': (a.exclude ??= []).push(value(flag, inline)); break;
      case '--max-states': a.maxStates = positive(flag, value(flag, inline)); break;
      case '--max-file-size': a.maxFileBytes = positive(flag, value(flag, inline)); break;
      case '--verbose': a.verbose = true; break;
      case '--fail-on': {
        const v = value(flag, inline);
        if (v !== 'race' && v !== 'incomplete' && v !== 'none') throw new Error(`--fail-on takes race, incomplete or none, not "${v}"`);
        a.failOn = v;
        break;
      }
      case '--no-cache': a.cache = false; break;
      case '--stdio': a.stdio = true; break;
      case '--help': a.help = true; break;
      case '--version': a.version = true; break;
      default: throw new Error(`unknown option ${flag}`);
    }
  }
  if (a.command === 'explain' && !a.function && !a.help) throw new Error('explain needs a FUNCTION');
  if (a.command === 'serve' && !a.stdio && !a.help) throw new Error('serve speaks LSP over standard input and output: lockpath serve --stdio');
  if (a.json && a.sarif === '-') throw new Error('--json and --sarif both write to standard output; give --sarif=FILE');
  return a;
}
