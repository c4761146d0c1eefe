// What the analysis is told about the kernel: which pointer is the resource, which function frees it, which lock
// guards it, where execution contexts enter, how teardown starts, and the named assumptions behind "pinned".

/** A reference that keeps a teardown path from starting while held. */
export type Pin = string;

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

/**
 * What a context is to the lifetime story. The engine reasons by role, never by a context's id:
 * - owner: runs while holding a pin its model names (a VCPU ioctl holds the fd's reference), so a teardown that
 *   requires that pin gone cannot overlap it;
 * - callback: runs asynchronously and may overlap teardown unless a quiescing fact stops it first (mmu notifier,
 *   irq handler, work item, timer);
 * - teardown: frees the resource (mmu_notifier release, kvm_destroy_vm, a driver's remove()).
 */
export type ContextRole = 'owner' | 'callback' | 'teardown';

export interface ContextSpec {
  id: string;
  label: string;
  /** Required from the domain model v2 on; absent means: teardown for id 'teardown', else callback/owner by pins. */
  role?: ContextRole;
  /** Whether code in this context may sleep; entries can refine it per ops field (viaMayBlock). */
  mayBlock?: MayBlock;
}

/** A reference whose holder keeps a teardown path from starting (kvm-ref, mm-user, a driver's device reference). */
export interface PinSpec {
  id: string;
  description: string;
}

/**
 * "After `function` returns, no instance of the contexts in `stops` is running or can start": free_irq stops the
 * irq handler, cancel_work_sync the work item, timer_shutdown_sync the timer, synchronize_rcu the RCU readers,
 * mmu_notifier_unregister the notifier callbacks. The simulator orders a teardown against callbacks with these.
 */
export interface QuiesceSpec {
  function: string;
  stops: string[];
  /** How the facts came about, for explanations ("free_irq waits for a running handler"). */
  description?: string;
}

/**
 * The words a model gives its resource, so report/ and lsp/ never say "stage-2" for a driver's ring:
 * tables: "the stage-2 tables" / "the ring"; chain: "stage-2 chain" / "ring chain".
 */
export interface ResourceWords {
  tables: string;
  chain: string;
}

/**
 * The cleanup-based lock forms of linux/cleanup.h: guard(type)(&lock) holds until the end of the enclosing block,
 * scoped_guard(type, &lock) { } for the block it governs. `type` is the guard class (spinlock, spinlock_irqsave,
 * mutex, write_lock, read_lock, rwsem_read, ...); mode and sleeps as for LockOp.
 */
export interface CleanupGuardSpec {
  type: string;
  mode: LockMode;
  sleeps?: boolean;
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
  /** Names the resource in findings and witnesses when a model has several (canonical and nested stage-2 MMUs). */
  id?: string;
  /** How messages name it: kvm->arch.pgd. */
  display: string;
  /** Trailing field names that reach it: ['arch', 'pgd'] matches kvm->arch.pgd and x.arch.pgd. */
  fieldPath: string[];
  /** Pointer types whose parameters carry a walk into the tables (pgd_t *pgd). */
  walkTypes: string[];
  /** How report/ and lsp/ name what it points to; absent: the model's own words. */
  words?: ResourceWords;
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
  /** Further functions that free the resource (several teardown helpers, deferred frees through RCU callbacks). */
  freeFunctions?: string[];
  /** Further resources of the same model: nested stage-2 MMUs, a container of roots with its own lifetime. */
  resources?: ResourceSpec[];
  /** How report/ and lsp/ name the model's resource when it has no words of its own. */
  words?: ResourceWords;
  /** The references a context can hold (PinSpec.id is what TeardownPathSpec.requires and assumptions name). */
  pins?: PinSpec[];
  /** Calls after which contexts cannot run: see QuiesceSpec. */
  quiesce?: QuiesceSpec[];
  /** guard()/scoped_guard() classes this model's code uses, by class name. */
  cleanupGuards?: CleanupGuardSpec[];
  /**
   * The assumption under which two teardown paths may run at the same time (KVM: releases-may-overlap); with it
   * off, a teardown chain is checked against no other teardown.
   */
  overlapAssumption?: string;
  /** The lock by its field name (mmu_lock), with how messages name it. */
  lock: { name: string; display: string; kind: 'spinlock' | 'rwlock' | 'mutex' | 'rwsem' };
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

/**
 * A context's role. Until every model states roles, a context without one is read the old way: the id 'teardown'
 * tears down, a context some enabled assumption pins is an owner, any other is a callback.
 */
export function roleOf(model: Model, context: string): ContextRole {
  const spec = model.contexts.find((c) => c.id === context);
  if (spec?.role) return spec.role;
  if (context === 'teardown') return 'teardown';
  return pinsOf(model, context).length ? 'owner' : 'callback';
}

/** How report/ and lsp/ name what the resource points to. */
export function wordsOf(model: Model): ResourceWords {
  return model.resource.words ?? model.words ?? { tables: 'the stage-2 tables', chain: 'stage-2 chain' };
}
