// What the analysis is told about the kernel: which pointer is the resource, which function frees it, which lock
// guards it, where execution contexts enter, how teardown starts, and the named assumptions behind "pinned".

/** A reference that keeps a teardown path from starting while held. */
export type Pin = 'kvm-ref' | 'mm-user';

export type LockMode = 'exclusive' | 'shared';

/** May a context sleep: always, never (atomic), or per call (the caller says, e.g. a notifier range's flag). */
export type MayBlock = 'always' | 'never' | 'per-call';

export interface LockOp {
  function: string;
  /** The lock it always operates on, for macros that hide it (KVM_MMU_LOCK(kvm) takes kvm->mmu_lock). */
  lock?: string;
  /** acquire, release, resched (release, let others run, reacquire), or trylock (a branch: acquire if free). */
  op: 'acquire' | 'release' | 'resched' | 'trylock';
  mode: LockMode;
  /** Taking it may sleep (mutex, rwsem, and every resched). */
  sleeps?: boolean;
}

export interface ContextSpec {
  id: string;
  label: string;
}

export interface HookSpec {
  /** The arch hook the core calls, e.g. kvm_age_hva. */
  function: string;
  context: string;
  /** How the core reaches it (ops-table fields or ioctls), one chain per entry. */
  via: string[];
  /** Locks the (absent) core wrapper holds around the call, by lock name. */
  locksHeld: string[];
  /** The model file that added it (built-in hooks have none). */
  origin?: string;
}

export interface EntryTableSpec {
  structType: string;
  /** Restricts to one table variable (file_operations serve both vcpu and VM fds). */
  variable?: string;
  fields: Record<string, string>;
}

export interface ExternalInvoke {
  /** A core function outside the indexed tree, e.g. mmu_notifier_unregister. */
  function: string;
  /** The ops-table field it calls, e.g. release of mmu_notifier_ops. */
  structType: string;
  field: string;
}

export interface TeardownPathSpec {
  id: string;
  label: string;
  /** The core frames before the code we index, outermost first (for witnesses). */
  frames: string[];
  /** An indexed function that starts the path, if present in the tree (kvm_destroy_vm). */
  startFunction?: string;
  /** The pin that must be gone before the path can start. */
  requires: Pin;
}

export interface AssumptionSpec {
  id: string;
  description: string;
  enabled: boolean;
  /** The context this assumption lets hold a pin. */
  context?: string;
  pin?: Pin;
}

export interface ResourceSpec {
  /** How messages name it: kvm->arch.pgd. */
  display: string;
  /** Trailing field names that reach it: ['arch', 'pgd'] matches kvm->arch.pgd and x.arch.pgd. */
  fieldPath: string[];
  /** Pointer types whose parameters carry a walk into the tables (pgd_t *pgd). */
  walkTypes: string[];
}

export interface Model {
  id: string;
  description: string;
  /** Where it came from: built-in, or the model file's path. */
  source: string;
  /** Strings whose presence in a tree suggests this model (for automatic choice). */
  detect: string[];
  resource: ResourceSpec;
  freeFunction: string;
  /** The lock by its field name (mmu_lock), with how messages name it. */
  lock: { name: string; display: string; kind: 'spinlock' | 'rwlock' };
  lockOps: LockOp[];
  /** Functions that free memory given as their first argument. */
  freeCalls: string[];
  /** Functions that only compute with a pointer's value (virt_to_phys): passing the root to them reads nothing. */
  addressOnlyCalls: string[];
  /** Calls that may sleep (besides sleeping locks and every resched): cond_resched, might_sleep, msleep. */
  sleepCalls?: string[];
  /**
   * How code asks whether the current call may block: functions of the range (mmu_notifier_range_blockable) and
   * flag constants tested with & (MMU_NOTIFIER_RANGE_BLOCKABLE). A tree that asks neither has no non-blocking calls.
   */
  blockability?: { queries: string[]; flags: string[] };
  /** Whether an entry may sleep, by the ops field or hook via that enters it; unlisted: it may. */
  viaMayBlock?: Record<string, MayBlock>;
  contexts: ContextSpec[];
  hooks: HookSpec[];
  entryTables: EntryTableSpec[];
  externalInvokes: ExternalInvoke[];
  teardownPaths: TeardownPathSpec[];
  assumptions: AssumptionSpec[];
  /** Configuration symbols fixed defined (true) or not (false): the model file's "config", a kernel .config. */
  config?: Record<string, boolean>;
  /** The kernel .config the symbols came from (--config): a CONFIG_ symbol it does not set is not set. */
  kernelConfig?: string;
}

export function assumptionEnabled(model: Model, id: string): boolean {
  return model.assumptions.some((a) => a.id === id && a.enabled);
}

/** The pins a context holds under the assumptions in force, each with the assumption that grants it. */
export function pinsOf(model: Model, context: string): { pin: Pin; assumption: string }[] {
  return model.assumptions
    .filter((a) => a.enabled && a.context === context && a.pin)
    .map((a) => ({ pin: a.pin!, assumption: a.id }));
}

export function contextLabel(model: Model, id: string): string {
  return model.contexts.find((c) => c.id === id)?.label ?? id;
}
