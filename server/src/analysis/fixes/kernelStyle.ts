// How inserted code is spelled: kernel style (tabs, 80 columns, /* */ comments), the function's own name for
// struct kvm, the model's field and lock, and a return value that fits the function's declared type.
import type { FunctionFacts } from '../index/facts';
import type { Model } from '../model/types';

/** Plain integer types and the kernel's integer typedefs: `return 0;` fits them. */
const INTEGER =
  /^(?:(?:unsigned|signed|long|short|int|char)(?:\s+(?:unsigned|signed|long|short|int|char))*|__?[us](?:8|16|32|64)|[us](?:8|16|32|64)|u?int(?:8|16|32|64)_t|size_t|ssize_t|loff_t|phys_addr_t|gpa_t|gfn_t|gva_t|hva_t|hpa_t|hfn_t|kvm_pfn_t|vm_fault_t|enum\s+\w+)$/;

/**
 * The early return for a function of this return type: void -> `return;`, pointer -> `return NULL;`, bool ->
 * `return false;`, integers -> `return 0;`. Anything else (a struct, an unknown typedef): undefined, no guard.
 */
export function earlyReturn(returnType: string): string | undefined {
  const t = returnType
    .replace(/\b(?:const|volatile)\b/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (t.endsWith('*')) return 'return NULL;';
  if (t === 'void') return 'return;';
  if (t === 'bool' || t === '_Bool') return 'return false;';
  if (INTEGER.test(t)) return 'return 0;';
  return undefined;
}

/**
 * The name this function gives its struct kvm: a `struct kvm *` parameter, else a local declared with one
 * (`struct kvm *kvm = vcpu->kvm;`, looked for in `bodyText`). Undefined: the function has no kvm to test.
 */
export function kvmName(fn: FunctionFacts, bodyText: string): string | undefined {
  const param = fn.params.find((p) => /^(?:const\s+)?struct\s+kvm\s*\*$/.test(p.type.trim()));
  if (param) return param.name;
  return /\bstruct\s+kvm\s*\*\s*([A-Za-z_]\w*)\s*=/.exec(bodyText)?.[1];
}

/** The root as the function reaches it: kvm->arch.pgd. */
export function rootExpr(model: Model, kvm: string): string {
  return `${kvm}->${model.resource.fieldPath.join('.')}`;
}

/** Taking and dropping the model's lock exclusively: spin_lock/spin_unlock, or write_lock/write_unlock. */
export function lockCalls(model: Model, kvm: string): { lock: string; unlock: string } | undefined {
  const [take, drop] = model.lock.kind === 'rwlock' ? ['write_lock', 'write_unlock'] : ['spin_lock', 'spin_unlock'];
  const known = (f: string, op: string): boolean => model.lockOps.some((o) => o.function === f && o.op === op);
  if (!known(take, 'acquire') || !known(drop, 'release')) return undefined;
  const arg = `&${kvm}->${model.lock.name}`;
  return { lock: `${take}(${arg});`, unlock: `${drop}(${arg});` };
}

const TAB = 8;
const WIDTH = 80;

/** The display width of an indentation (tabs to the next multiple of 8). */
function widthOf(indent: string): number {
  let w = 0;
  for (const c of indent) w = c === '\t' ? (Math.floor(w / TAB) + 1) * TAB : w + 1;
  return w;
}

/** A kernel-style comment at `indent`: one line if it fits in 80 columns, else a wrapped block. */
export function comment(indent: string, text: string): string[] {
  const one = `${indent}/* ${text} */`;
  if (widthOf(one) <= WIDTH) return [one];
  const room = Math.max(20, WIDTH - widthOf(`${indent} * `));
  const out = [`${indent}/*`];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > room) {
      out.push(`${indent} * ${line}`);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) out.push(`${indent} * ${line}`);
  out.push(`${indent} */`);
  return out;
}
