// Function-like macros as the call graph sees them: what a use of one calls (its expansion's calls, macros through
// macros a few levels deep) and, when its result is called (KVM_PGT_FN(f)(args)), the functions it names.
import type { CallArg, MacroAlias, MacroName } from '../index/facts';

export interface MacroTarget {
  name: string;
  /** How the call reaches it: macro KVM_PGT_FN. */
  via: string;
  args: readonly CallArg[];
}

/**
 * The indexed functions a use of macro `name` with arguments `args` reaches: what its expansion calls (through
 * further macros too, a few levels deep), and, when its result is called with `resultArgs`, what it names.
 */
export function expandMacro(
  macros: ReadonlyMap<string, MacroAlias>,
  isDefined: (name: string) => boolean,
  name: string,
  args: readonly CallArg[],
  resultArgs?: readonly CallArg[],
  depth = 0,
): MacroTarget[] {
  const macro = macros.get(name);
  if (!macro || depth > 4) return [];
  const out: MacroTarget[] = [];
  const via = `macro ${macro.name}`;
  const texts = args.map((a) => a.text);
  for (const call of macro.calls) {
    const callee = macroNameText(call.callee, texts);
    if (!callee) continue;
    const calleeArgs = expandArgs(macro, call.args, args);
    if (isDefined(callee)) out.push({ name: callee, via, args: calleeArgs });
    else for (const t of expandMacro(macros, isDefined, callee, calleeArgs, undefined, depth + 1)) out.push(t);
  }
  if (resultArgs) {
    for (const v of macro.values) {
      const named = macroNameText(v, texts);
      if (named && isDefined(named)) out.push({ name: named, via, args: resultArgs });
    }
  }
  return out;
}

/** The arguments a call in a macro's expansion receives: the macro's own arguments where it names its parameters. */
function expandArgs(macro: MacroAlias, callArgs: readonly (number | string)[], args: readonly CallArg[]): CallArg[] {
  return callArgs.flatMap((a) => {
    if (typeof a !== 'number') return [textArg(a)];
    if (macro.variadic && a === macro.params.length) return args.slice(a);
    return [args[a] ?? { text: '' }];
  });
}

export function textArg(text: string): CallArg {
  return { text, ...(/^[A-Za-z_]\w*$/.test(text) ? { functionName: text } : {}) };
}

/** pkvm_##fn with fn = kvm_pgtable_stage2_unmap: pkvm_kvm_pgtable_stage2_unmap (undefined unless a name). */
export function macroNameText(n: MacroName, args: readonly string[]): string | undefined {
  const arg = n.param === undefined ? '' : (args[n.param] ?? '').trim();
  const text = `${n.prefix}${arg}${n.suffix}`;
  return /^[A-Za-z_]\w*$/.test(text) ? text : undefined;
}
