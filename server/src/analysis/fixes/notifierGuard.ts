// The two guards the 2017 thread weighed for "KVM: arm/arm64: Handle hva aging while destroying the vm":
// an `if (!kvm->arch.pgd) return ...;` in the high-level mmu-notifier hook (kvm_age_hva), which the maintainers
// chose, or in the low-level walker (stage2_get_pud), which every caller pays for. Both are only valid because
// the notifier already holds kvm->mmu_lock, the lock kvm_free_stage2_pgd clears the pointer under.
import type { FunctionFacts } from '../index/facts';
import type { Finding } from '../findings/findings';
import type { Analysis } from '../workspace';
import { guardedAtTop } from './existingGuards';
import { guardPoint, siteOf } from './functionSite';
import { comment, earlyReturn, kvmName, rootExpr } from './kernelStyle';
import { lines } from './source';
import type { Draft } from './types';

type TextOf = (file: string) => string | undefined;

/** The first mmu-notifier hook on the chain (kvm_age_hva), where the core holds the lock around the call. */
export function notifierHook(analysis: Analysis, finding: Finding): FunctionFacts | undefined {
  const hooks = analysis.model.hooks.filter((h) => h.context === 'mmu-notifier');
  const name = finding.chain.path.find((f) => hooks.some((h) => h.function === f));
  if (!name) return undefined;
  const hop = finding.chain.hops.find((h) => h.function === name);
  return analysis.graph.lookup(name, hop?.file);
}

/** Guard in the hook: only notifier callers can meet freed tables, so only they pay. */
export function hookGuard(analysis: Analysis, finding: Finding, textOf: TextOf): Draft | undefined {
  const hook = notifierHook(analysis, finding);
  if (!hook) return undefined;
  const { model } = analysis;
  const why =
    `Only mmu-notifier callers need this: they run outside the VM's own context, under ${model.lock.display}, ` +
    `possibly after mmu_notifier_release freed the stage-2 tables.`;
  const edit = insertGuard(analysis, hook, textOf, why);
  if (!edit) return undefined;
  return {
    title: `Check ${model.resource.display} in ${hook.name} (mmu-notifier hook)`,
    explanation:
      `Test the root at the top of the hook, as "KVM: arm/arm64: Handle hva aging while destroying the vm" (v4.13) ` +
      `did: the core calls ${hook.name} with ${model.lock.display} held, the lock ${model.freeFunction} clears the ` +
      `pointer under, so the test stays valid for the whole walk. Only mmu-notifier callers can run after ` +
      `->release freed the tables, so the check belongs where only they pay for it (the maintainers' choice).`,
    edits: [edit],
  };
}

/** Guard in the walker that reads the root: safe for every path, paid by every path. */
export function walkerGuard(analysis: Analysis, finding: Finding, textOf: TextOf): Draft | undefined {
  const walker = finding.chain.walker;
  if (!walker || walker.name === notifierHook(analysis, finding)?.name) return undefined;
  const { model } = analysis;
  const why =
    `Every caller pays for this check, though only mmu-notifier paths (under ${model.lock.display}, not ` +
    `pinning the VM) can find the tables freed by ${model.freeFunction}.`;
  const edit = insertGuard(analysis, walker, textOf, why);
  if (!edit) return undefined;
  return {
    title: `Check ${model.resource.display} in ${walker.name} (every caller pays)`,
    explanation:
      `Test the root in the walker, before its first read of it (the first version of the 2017 patch). It covers ` +
      `every path into ${walker.name}, including ones added later, but VCPU and VM ioctl callers pay for a test ` +
      `they do not need, and it is valid only because its notifier callers hold ${model.lock.display}.`,
    edits: [edit],
  };
}

/** `if (!kvm->arch.pgd) return ...;` with a comment, after the declarations of `fn`; none if already there. */
function insertGuard(
  analysis: Analysis,
  fn: FunctionFacts,
  textOf: TextOf,
  why: string,
): Draft['edits'][number] | undefined {
  const site = siteOf(fn, textOf);
  if (!site || guardedAtTop(fn, fn.body, ['return'], analysis.graph)) return undefined;
  const ret = earlyReturn(fn.returnType);
  const kvm = kvmName(fn, site.src.text.slice(site.open, site.close));
  const point = guardPoint(site, analysis.graph);
  if (!ret || !kvm || !point) return undefined;
  const { indent } = point;
  const newText = lines(site.src, [
    ...comment(indent, why),
    `${indent}if (!${rootExpr(analysis.model, kvm)})`,
    `${indent}\t${ret}`,
  ]);
  return { file: fn.file, span: site.src.pointSpan(point.offset), newText };
}
