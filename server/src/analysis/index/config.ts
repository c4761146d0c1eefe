// Configuration symbols: `#if defined(CONFIG_X) && !defined(Y)`, `#ifdef X`, `IS_ENABLED(CONFIG_X)`. A condition is
// lowered to a typed Cond over config symbols; symbols the model fixes (its "config", or a kernel .config given
// with --config) are folded when indexing, symbols the tree's headers define when the call graph is built; the rest
// stay for the simulator, which makes one choice per symbol along a path.
import type { SyntaxNode as Node } from '../parse/flat';
import type { Model } from '../model/types';
import type { Cond } from './facts';

/** A config condition folded as far as the fixed symbols go: true, false, or what is left. */
export type Folded = boolean | Cond;

/** The value a symbol is fixed to, if it is: `lookup` first, then the model. */
export type SymbolValue = (symbol: string) => boolean | undefined;

/**
 * What the model fixes a symbol to. A kernel .config (model.kernelConfig) is complete for CONFIG_ symbols: one it
 * does not set is not set. CONFIG_X=m defines CONFIG_X_MODULE, not CONFIG_X (as autoconf.h does); a symbol the
 * model sets by hand has no _MODULE twin.
 */
export function modelSymbol(model: Pick<Model, 'config' | 'kernelConfig'>, symbol: string): boolean | undefined {
  const v = model.config?.[symbol];
  if (v !== undefined) return v;
  if (symbol.endsWith('_MODULE') && model.config?.[symbol.slice(0, -7)] !== undefined) return false;
  return model.kernelConfig && symbol.startsWith('CONFIG_') ? false : undefined;
}

/** Does the model fix any symbol? (Folding is skipped entirely when it does not.) */
export function fixesSymbols(model: Pick<Model, 'config' | 'kernelConfig'>): boolean {
  return !!model.kernelConfig || Object.keys(model.config ?? {}).length > 0;
}

/** The condition of `#if`/`#ifdef`/`#ifndef`/`#elif` (node) with its head (condition or name). */
export function preprocCondition(node: Node, head: Node | null): Folded {
  if (!head) return { k: 'unknown' };
  if (node.type === 'preproc_ifdef' || node.type === 'preproc_elifdef') {
    const symbol: Cond = { k: 'config', symbol: head.text };
    return /^#\s*(ifndef|elifndef)/.test(node.text) ? { k: 'not', c: symbol } : symbol;
  }
  return preprocExpr(head);
}

/** `!defined(X)` as `not config X`, `0` and `1` as false and true; anything else (comparisons, arithmetic) unknown. */
function preprocExpr(n: Node): Folded {
  switch (n.type) {
    case 'preproc_defined': {
      const id = n.namedChildren.find((c) => c?.type === 'identifier');
      return id ? { k: 'config', symbol: id.text } : { k: 'unknown' };
    }
    case 'identifier':
      return { k: 'config', symbol: n.text };
    case 'number_literal':
      return /^0+[uUlL]*$/.test(n.text) ? false : /^\d+[uUlL]*$/.test(n.text) ? true : { k: 'unknown' };
    case 'parenthesized_expression':
      return n.namedChild(0) ? preprocExpr(n.namedChild(0)!) : { k: 'unknown' };
    case 'unary_expression':
      if (n.child(0)?.type === '!' && n.childForFieldName('argument'))
        return notF(preprocExpr(n.childForFieldName('argument')!));
      return { k: 'unknown' };
    case 'binary_expression': {
      const op = n.child(1)?.type;
      const l = n.childForFieldName('left');
      const r = n.childForFieldName('right');
      if (!l || !r || (op !== '&&' && op !== '||')) return { k: 'unknown' };
      return op === '&&' ? andF(preprocExpr(l), preprocExpr(r)) : orF(preprocExpr(l), preprocExpr(r));
    }
    case 'call_expression':
      return configCall(n) ?? { k: 'unknown' };
    default:
      return { k: 'unknown' };
  }
}

/**
 * IS_ENABLED(CONFIG_X) (X or X_MODULE), IS_BUILTIN (X), IS_MODULE (X_MODULE), IS_REACHABLE (taken as IS_ENABLED),
 * in `#if` and in C conditions alike; undefined for any other call.
 */
export function configCall(n: Node): Cond | undefined {
  const fn = n.childForFieldName('function')?.text;
  const arg = n.childForFieldName('arguments')?.namedChildren.filter((c) => c && c.type !== 'comment');
  if (!fn || !arg || arg.length !== 1 || arg[0]?.type !== 'identifier') return undefined;
  const x = arg[0].text;
  const builtin: Cond = { k: 'config', symbol: x };
  const module: Cond = { k: 'config', symbol: `${x}_MODULE` };
  if (fn === 'IS_ENABLED' || fn === 'IS_REACHABLE') return { k: 'or', a: builtin, b: module };
  if (fn === 'IS_BUILTIN') return builtin;
  if (fn === 'IS_MODULE') return module;
  return undefined;
}

/** Folds the config symbols `value` fixes; other atoms are left alone (an unknown atom never decides). */
export function foldConfig(c: Cond, value: SymbolValue): Folded {
  switch (c.k) {
    case 'config': {
      const v = value(c.symbol);
      return v === undefined ? c : v;
    }
    case 'not':
      return notF(foldConfig(c.c, value));
    case 'and':
      return andF(foldConfig(c.a, value), foldConfig(c.b, value));
    case 'or':
      return orF(foldConfig(c.a, value), foldConfig(c.b, value));
    default:
      return c;
  }
}

/** Does the condition test a config symbol anywhere? */
export function hasConfig(c: Cond): boolean {
  return (
    c.k === 'config' ||
    (c.k === 'not' && hasConfig(c.c)) ||
    ((c.k === 'and' || c.k === 'or') && (hasConfig(c.a) || hasConfig(c.b)))
  );
}

/**
 * The symbol values `c` being `want` implies, when it is a conjunction of config tests (under that polarity):
 * `defined(A) && !defined(B)` true gives A=1, B=0. Other atoms imply nothing. Undefined when `c` cannot be `want`.
 */
export function impliedSymbols(c: Folded, want: boolean): Map<string, boolean> | undefined {
  if (typeof c === 'boolean') return c === want ? new Map() : undefined;
  const out = new Map<string, boolean>();
  const walk = (x: Cond, w: boolean): boolean => {
    if (x.k === 'config') {
      if (out.has(x.symbol) && out.get(x.symbol) !== w) return false;
      out.set(x.symbol, w);
      return true;
    }
    if (x.k === 'not') return walk(x.c, !w);
    // a && b true, or a || b false: both halves hold.
    if ((x.k === 'and' && w) || (x.k === 'or' && !w)) return walk(x.a, w) && walk(x.b, w);
    return true;
  };
  return walk(c, want) ? out : undefined;
}

/** Reads a kernel .config: CONFIG_X=y, =m (CONFIG_X_MODULE), other values (defined), `# CONFIG_X is not set`. */
export function parseKernelConfig(
  text: string,
): { symbols: Record<string, boolean> } | { error: string; line: number } {
  const symbols: Record<string, boolean> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    const unset = /^#\s*(CONFIG_\w+) is not set$/.exec(line);
    if (unset) {
      symbols[unset[1]] = false;
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const set = /^(CONFIG_\w+)=(.*)$/.exec(line);
    if (!set)
      return {
        error: `not a kernel .config line (expected CONFIG_NAME=value or "# CONFIG_NAME is not set"): ${line.slice(0, 60)}`,
        line: i,
      };
    if (set[2] === 'n') symbols[set[1]] = false;
    else if (set[2] === 'm') {
      symbols[set[1]] = false;
      symbols[`${set[1]}_MODULE`] = true;
    } else symbols[set[1]] = true;
  }
  return { symbols };
}

function notF(c: Folded): Folded {
  if (typeof c === 'boolean') return !c;
  return c.k === 'not' ? c.c : c.k === 'unknown' ? c : { k: 'not', c };
}

function andF(a: Folded, b: Folded): Folded {
  if (a === false || b === false) return false;
  if (a === true) return b;
  if (b === true) return a;
  return { k: 'and', a, b };
}

function orF(a: Folded, b: Folded): Folded {
  if (a === true || b === true) return true;
  if (a === false) return b;
  if (b === false) return a;
  return { k: 'or', a, b };
}

/**
 * Macros a header defines whatever the configuration: outside any #if, or inside its include guard only
 * (`#ifndef X_H` / `#define X_H` ... `#endif`); a later unconditional #undef removes one. Read from the text: the
 * indexer never sees a header's directives outside functions.
 */
export function headerDefines(text: string): string[] {
  const out = new Set<string>();
  const lines = text.replace(/\\\r?\n/g, ' ').split('\n');
  // Open conditionals; the include guard is the first directive (#ifndef G) when the next one is #define G.
  const open: { guard: boolean }[] = [];
  let directives = 0;
  let guardName: string | undefined;
  for (const line of lines) {
    const d = /^\s*#\s*(\w+)\s*(\w*)/.exec(line);
    if (!d) continue;
    const [, word, name] = d;
    directives++;
    if (word === 'if' || word === 'ifdef' || word === 'ifndef') {
      if (directives === 1 && word === 'ifndef') guardName = name;
      open.push({ guard: directives === 1 && word === 'ifndef' });
      continue;
    }
    if (word === 'endif') {
      open.pop();
      continue;
    }
    if (word === 'else' || word === 'elif' || word === 'elifdef' || word === 'elifndef') {
      const top = open[open.length - 1];
      if (top) top.guard = false;
      continue;
    }
    if (directives === 2 && open.length === 1 && open[0].guard && !(word === 'define' && name === guardName))
      open[0].guard = false;
    const unconditional = open.every((o) => o.guard);
    if (!unconditional || !name) continue;
    if (word === 'define') out.add(name);
    else if (word === 'undef') out.delete(name);
  }
  return [...out].sort();
}

/**
 * Macros the tree defines whatever the configuration, from its headers: those outside arch/ count as they are;
 * those under arch/<a>/ only when every architecture with files in the tree defines them (a core file's
 * `#ifdef KVM_ARCH_WANT_MMU_NOTIFIER` is decided only when all the architectures indexed agree).
 */
export function treeDefines(paths: readonly string[], definesOf: (header: string) => readonly string[]): string[] {
  const common = new Set<string>();
  const arches = new Map<string, Set<string>>();
  for (const p of paths) {
    const arch = /(?:^|\/)arch\/([^/]+)\//.exec(p)?.[1];
    if (arch && !arches.has(arch)) arches.set(arch, new Set());
    if (!p.endsWith('.h')) continue;
    const into = arch ? arches.get(arch)! : common;
    for (const d of definesOf(p)) into.add(d);
  }
  const sets = [...arches.values()];
  for (const d of sets[0] ?? []) if (sets.every((s) => s.has(d))) common.add(d);
  return [...common].sort();
}
