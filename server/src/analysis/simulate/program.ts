// Compiles what one thread does, from an entry function, into a flat list of instructions: callees inlined at
// their call sites (function-pointer parameters bound to what each caller passes), loops and gotos as jumps,
// unknown conditions as choices. Only what touches the resource or a lock survives; everything else is skipped.
import type { Bindings, CallGraph } from '../callgraph/graph';
import type { CallArg, CallSiteFacts, Cond, FunctionFacts, ScalarSource, Span, Stmt, ValueRef } from '../index/facts';
import type { MayBlock } from '../model/types';

/** An inlined function activation: which function, and the call that brought it in. */
export interface Frame {
  fn: FunctionFacts;
  parent: number;
  /** The call site in the parent frame's function (absent for the outermost frame). */
  callAt?: Span;
  via?: string;
  /**
   * Parameters given a local or path of the caller (f(&r), f(range)): the callee's p.x is the caller's r.x, so a
   * flag set or tested through a pointer is the same slot on both sides.
   */
  paths?: Map<string, { frame: number; path: string; addressOf?: boolean }>;
}

/** Where a value lives at run time: the shared field, or one thread-local variable (by slot). */
export type Src = { field: true } | { slot: number };

export type CondI =
  | { k: 'isnull'; src: Src }
  | { k: 'flag'; slot: number }
  | { k: 'not'; c: CondI }
  | { k: 'and'; a: CondI; b: CondI }
  | { k: 'or'; a: CondI; b: CondI }
  | { k: 'unknown' };

interface Base {
  frame: number;
  at: Span;
}

export type Instr =
  | (Base & { op: 'lock'; lock: string; mode: 'exclusive' | 'shared'; fn: string; next: number; byCore?: boolean })
  | (Base & { op: 'unlock'; lock: string; fn: string; next: number; byCore?: boolean })
  /** cond_resched_lock, first half: drop the lock if this thread holds it (and remember that it did). */
  | (Base & { op: 'resched-drop'; lock: string; fn: string; next: number })
  /** Second half: take it back if the first half dropped it. Other threads may run in between. */
  | (Base & { op: 'resched-take'; lock: string; mode: 'exclusive' | 'shared'; fn: string; next: number })
  /**
   * slot := src, or := a flag constant (true/false), or unknown. scalar: a copy of a flag-like value; an unknown
   * source is first given a symbol, so later tests of either slot agree (correlated unknowns).
   */
  | (Base & {
      op: 'assign';
      slot: number;
      src?: Src;
      flag?: 'true' | 'false';
      scalar?: true;
      next: number;
      clears?: number[];
    })
  /** Takes the lock if no thread holds it (slot := true), else fails (slot := false); never waits. */
  | (Base & { op: 'trylock'; lock: string; mode: 'exclusive' | 'shared'; fn: string; slot: number; next: number })
  /** A call that may sleep: a hazard where the thread's blockability is not known to be true. */
  | (Base & { op: 'sleep'; fn: string; slot: number; next: number })
  | (Base & { op: 'deref'; src: Src; text: string; next: number })
  | (Base & { op: 'write'; value: 'null' | 'other' | Src; next: number })
  | (Base & { op: 'free'; src: Src; fn: string; next: number })
  /** join: where the two ways of an if meet again (absent for loop tests). */
  | (Base & { op: 'branch'; cond: CondI; text: string; then: number; else: number; guard: boolean; join?: number })
  | (Base & { op: 'choice'; targets: number[] })
  | (Base & { op: 'jump'; target: number })
  | (Base & { op: 'end' });

export interface Program {
  instrs: Instr[];
  frames: Frame[];
  /** Number of thread-local slots (variables of all inlined frames). */
  slots: number;
  slotNames: string[];
  /** Compilation stopped at the size bound: results from it are inconclusive. */
  truncated: boolean;
  /** The slot holding whether this thread may block (see BLOCKABLE), when the program reads it. */
  blockableSlot: number;
  /** Whether the entry may sleep; a sleep where it may not is a hazard. */
  mayBlock: MayBlock;
}

/** The slot name of the thread's blockability: true where it may sleep. */
export const BLOCKABLE = '$blockable';

export interface CompileOptions {
  maxInstrs: number;
  maxDepth: number;
  /** Locks the core holds around the entry (built-in hooks): taken first, released last. */
  locksHeld: { lock: string; at: Span }[];
  mayBlock: MayBlock;
}

export const defaultCompileOptions: CompileOptions = {
  maxInstrs: 60_000,
  maxDepth: 40,
  locksHeld: [],
  mayBlock: 'always',
};

type Patch = (pc: number) => void;

class Compiler {
  readonly instrs: Instr[] = [];
  readonly frames: Frame[] = [];
  readonly slotNames: string[] = [];
  truncated = false;

  constructor(
    private readonly graph: CallGraph,
    private readonly opts: CompileOptions,
  ) {}

  emit(i: Instr): number {
    if (this.instrs.length >= this.opts.maxInstrs) {
      this.truncated = true;
    }
    this.instrs.push(i);
    return this.instrs.length - 1;
  }

  get pc(): number {
    return this.instrs.length;
  }

  slot(frame: number, name: string): number {
    // A path through a parameter bound to the caller's object is the caller's slot (p.found -> r.found).
    const dot = name.indexOf('.');
    if (dot > 0) {
      const bound = this.frames[frame]?.paths?.get(name.slice(0, dot));
      if (bound) {
        const rest = name.slice(dot);
        // Given &x, the callee's *p is x itself, and p->f is x.f.
        return this.slot(
          bound.frame,
          bound.addressOf && rest.startsWith('.*') ? bound.path + rest.slice(2) : bound.path + rest,
        );
      }
    }
    if (name === BLOCKABLE) frame = 0;
    const key = `${frame}:${name}`;
    let i = this.slotIndex.get(key);
    if (i === undefined) {
      i = this.slotNames.length;
      this.slotNames.push(key);
      this.slotIndex.set(key, i);
      // Index the new slot under each of its bases (0:r.a.b under 0:r and 0:r.a), for struct copies.
      for (let d = key.indexOf('.'); d > 0; d = key.indexOf('.', d + 1)) {
        const base = key.slice(0, d);
        (this.slotsBelow.get(base) ?? this.slotsBelow.set(base, []).get(base)!).push(i);
      }
    }
    return i;
  }

  private readonly slotIndex = new Map<string, number>();
  /** Slots by the names of the structs they are fields of. */
  private readonly slotsBelow = new Map<string, number[]>();

  /** The slot name a local or path of a frame resolves to (through parameters bound to a caller's object). */
  resolvedName(frame: number, name: string): string {
    return this.slotNames[this.slot(frame, name)];
  }
  /** The local a frame returns by value (return r;), for a caller's `x = f()` to receive its fields. */
  private readonly returnedLocal = new Map<number, string>();

  src(frame: number, v: ValueRef): Src {
    return v.kind === 'field' ? { field: true } : { slot: this.slot(frame, v.name) };
  }

  cond(frame: number, c: Cond): CondI {
    switch (c.k) {
      case 'isnull':
        return { k: 'isnull', src: this.src(frame, c.value) };
      case 'flag':
        return { k: 'flag', slot: this.slot(frame, c.name) };
      case 'not':
        return { k: 'not', c: this.cond(frame, c.c) };
      case 'and':
      case 'or':
        return { k: c.k, a: this.cond(frame, c.a), b: this.cond(frame, c.b) };
      case 'config':
        // One choice per config symbol along a thread: a thread-wide flag, refined the first time it is tested.
        return { k: 'flag', slot: this.slot(0, `$config:${c.symbol}`) };
      default:
        return { k: 'unknown' };
    }
  }

  /** Compiles `fn` as frame `frame`; returns jumps to patch to the instruction after the inlined body. */
  compileFunction(frame: number, bindings: Bindings, stack: FunctionFacts[]): Patch[] {
    const fn = this.frames[frame].fn;
    const exits: Patch[] = [];
    const labels = new Map<string, number>();
    const gotos: { label: string; patch: Patch }[] = [];
    const loops: { breaks: Patch[]; continues: Patch[] }[] = [];
    const retSlot = this.slot(frame, '$return');

    const block = (stmts: readonly Stmt[]): void => {
      for (const s of stmts) {
        if (this.truncated) return;
        stmt(s);
      }
    };

    const jumpPatch = (at: Span): Patch => {
      const pc = this.emit({ op: 'jump', target: -1, frame, at });
      return (target) => {
        (this.instrs[pc] as { target: number }).target = target;
      };
    };

    const stmt = (s: Stmt): void => {
      const at = s.at;
      switch (s.k) {
        case 'call':
          this.call(frame, fn, s, bindings, stack);
          return;
        case 'sleep':
          this.emit({ op: 'sleep', fn: s.fn, slot: this.slot(0, BLOCKABLE), frame, at, next: this.pc + 1 });
          return;
        case 'lock':
          if (s.op === 'trylock')
            this.emit({
              op: 'trylock',
              lock: s.lock,
              mode: s.mode,
              fn: s.fn,
              slot: this.slot(frame, s.result ?? '$try'),
              frame,
              at,
              next: this.pc + 1,
            });
          else if (s.op === 'acquire')
            this.emit({ op: 'lock', lock: s.lock, mode: s.mode, fn: s.fn, frame, at, next: this.pc + 1 });
          else if (s.op === 'release')
            this.emit({ op: 'unlock', lock: s.lock, fn: s.fn, frame, at, next: this.pc + 1 });
          else {
            this.emit({ op: 'resched-drop', lock: s.lock, fn: s.fn, frame, at, next: this.pc + 1 });
            this.emit({ op: 'resched-take', lock: s.lock, mode: s.mode, fn: s.fn, frame, at, next: this.pc + 1 });
          }
          return;
        case 'assign':
          this.assign(frame, this.slot(frame, s.local), s.value, s, at);
          return;
        case 'deref':
          this.emit({ op: 'deref', src: this.src(frame, s.value), text: s.text, frame, at, next: this.pc + 1 });
          return;
        case 'write':
          this.emit({
            op: 'write',
            value: typeof s.value === 'string' ? s.value : this.src(frame, s.value),
            frame,
            at,
            next: this.pc + 1,
          });
          return;
        case 'free':
          this.emit({ op: 'free', src: this.src(frame, s.value), fn: s.fn, frame, at, next: this.pc + 1 });
          return;
        case 'if': {
          const br = this.emit({
            op: 'branch',
            cond: this.cond(frame, s.cond),
            text: s.text,
            then: -1,
            else: -1,
            guard: testsResource(s.cond),
            frame,
            at,
          });
          (this.instrs[br] as { then: number }).then = this.pc;
          block(s.then);
          const skip = jumpPatch(at);
          (this.instrs[br] as { else: number }).else = this.pc;
          block(s.else);
          skip(this.pc);
          (this.instrs[br] as { join?: number }).join = this.pc;
          return;
        }
        case 'loop': {
          const loop = { breaks: [] as Patch[], continues: [] as Patch[] };
          loops.push(loop);
          const testFirst = s.form !== 'do';
          const head = this.pc;
          let exitBranch = -1;
          if (testFirst) {
            block(s.test);
            exitBranch = this.emit({
              op: 'branch',
              cond: this.cond(frame, s.cond),
              text: s.text,
              then: this.pc + 1,
              else: -1,
              guard: testsResource(s.cond),
              frame,
              at,
            });
          }
          block(s.body);
          const continueTarget = this.pc;
          if (!testFirst) {
            block(s.test);
            this.emit({
              op: 'branch',
              cond: this.cond(frame, s.cond),
              text: s.text,
              then: head,
              else: this.pc + 1,
              guard: testsResource(s.cond),
              frame,
              at,
            });
          } else {
            this.emit({ op: 'jump', target: head, frame, at });
          }
          const exit = this.pc;
          if (exitBranch >= 0) (this.instrs[exitBranch] as { else: number }).else = exit;
          loops.pop();
          loop.breaks.forEach((p) => p(exit));
          loop.continues.forEach((p) => p(testFirst ? head : continueTarget));
          return;
        }
        case 'switch': {
          const loop = { breaks: [] as Patch[], continues: loops[loops.length - 1]?.continues ?? [] };
          loops.push(loop);
          const choice = this.emit({ op: 'choice', targets: [], frame, at });
          const targets: number[] = [];
          const caseAt = (x: Stmt): void => {
            if (x.k === 'case') targets.push(this.pc);
          };
          for (const x of s.body) {
            caseAt(x);
            stmt(x);
          }
          const exit = this.pc;
          targets.push(exit);
          (this.instrs[choice] as { targets: number[] }).targets = targets;
          loops.pop();
          loop.breaks.forEach((p) => p(exit));
          return;
        }
        case 'case':
          return;
        case 'return':
          if (s.value)
            this.emit({ op: 'assign', slot: retSlot, src: this.src(frame, s.value), frame, at, next: this.pc + 1 });
          if (s.local) this.returnedLocal.set(frame, s.local);
          exits.push(jumpPatch(at));
          return;
        case 'break': {
          const l = loops[loops.length - 1];
          if (l) l.breaks.push(jumpPatch(at));
          return;
        }
        case 'continue': {
          const l = loops[loops.length - 1];
          if (l) l.continues.push(jumpPatch(at));
          return;
        }
        case 'goto':
          gotos.push({ label: s.label, patch: jumpPatch(at) });
          return;
        case 'label':
          labels.set(s.name, this.pc);
          return;
      }
    };

    block(fn.body);
    const end = this.pc;
    for (const g of gotos) g.patch(labels.get(g.label) ?? end);
    return exits;
  }

  /** slot := a resource value, a constant, a copy of another local or path, the blockability, or unknown. */
  assign(frame: number, slot: number, value: ValueRef | undefined, scalar: ScalarSource, at: Span, into = frame): void {
    const base = { op: 'assign' as const, slot, frame: into, at, next: this.pc + 1 };
    if (value) this.emit({ ...base, src: this.src(frame, value) });
    else if (scalar.flag) this.emit({ ...base, flag: scalar.flag });
    else if (scalar.copy) this.emit({ ...base, src: { slot: this.slot(frame, scalar.copy) }, scalar: true });
    else if (scalar.blockable) this.emit({ ...base, src: { slot: this.slot(0, BLOCKABLE) }, scalar: true });
    else this.emit(base);
  }

  /** x = f() where f returns its local r: x and each x.f the callee knew as r and r.f (a flag in a return struct). */
  private receiveStruct(frame: number, child: number, into: string, at: Span): void {
    this.emit({ op: 'assign', slot: this.slot(frame, into), frame, at, next: this.pc + 1 });
    const local = this.returnedLocal.get(child);
    if (!local) return;
    this.copyFields(child, `${child}:${local}`, frame, into, at, frame);
  }

  /** Copies every known slot of a struct (the whole and its paths, shortest first) into another frame's struct. */
  private copyFields(
    fromFrame: number,
    prefix: string,
    toFrame: number,
    into: string,
    at: Span,
    emitFrame: number,
  ): void {
    const whole = this.slotIndex.get(prefix);
    const fields = [...(whole === undefined ? [] : [whole]), ...(this.slotsBelow.get(prefix) ?? [])]
      .map((slot): [number, string] => [slot, this.slotNames[slot]])
      .sort((a, b) => a[1].length - b[1].length);
    for (const [slot, name] of fields) {
      const target = this.slot(toFrame, into + name.slice(prefix.length));
      this.emit({ op: 'assign', slot: target, src: { slot }, scalar: true, frame: emitFrame, at, next: this.pc + 1 });
    }
    void fromFrame;
  }

  /** Binds the callee's parameters to the arguments: values, constants and copies; paths of pointers to the caller's. */
  private bindParams(
    frame: number,
    child: number,
    callee: FunctionFacts,
    args: readonly (CallArg | undefined)[],
    at: Span,
  ): void {
    callee.params.forEach((p, i) => {
      const a = args[i];
      // A pointer (or &x) is the caller's object; a struct passed by value is a copy of what the caller knew of it.
      const byValue = !!a?.path && !a.addressOf && /^(const\s+)?struct\s/.test(p.type) && !p.type.includes('*');
      if (a?.path && !byValue)
        (this.frames[child].paths ??= new Map()).set(p.name, { frame, path: a.path, addressOf: a.addressOf });
      const slot = this.slot(child, p.name);
      this.assign(frame, slot, a?.value, a?.scalar ?? (a?.path ? { copy: a.path } : {}), at, child);
      if (byValue) this.copyFields(frame, `${this.resolvedName(frame, a.path!)}`, child, p.name, at, child);
    });
  }

  private call(
    frame: number,
    fn: FunctionFacts,
    s: Extract<Stmt, { k: 'call' }>,
    bindings: Bindings,
    stack: FunctionFacts[],
  ): void {
    const site: CallSiteFacts = { callee: s.callee, args: s.args, at: s.at, locksHeld: [], guards: [] };
    const targets = this.graph
      .targets(fn, site, bindings)
      .filter((t) => this.graph.matters(t.fn) && !stack.includes(t.fn));
    const argSrcs = s.args.map((a) => (a.value ? this.src(frame, a.value) : undefined));
    if (targets.length === 0) {
      // A macro or a function outside the tree: given a table pointer, it reads the tables (stage2_pud_offset).
      const external = this.graph.externalCallee(fn, site, bindings);
      if (s.resultTo)
        this.emit({ op: 'assign', slot: this.slot(frame, s.resultTo), frame, at: s.at, next: this.pc + 1 });
      if (!external || this.graph.model.addressOnlyCalls.includes(external)) return;
      for (const [i, src] of argSrcs.entries()) {
        if (src)
          this.emit({ op: 'deref', src, text: `${external}(${s.args[i].text})`, frame, at: s.at, next: this.pc + 1 });
      }
      const first = argSrcs.find((x) => x);
      if (s.assignTo && first)
        this.emit({ op: 'assign', slot: this.slot(frame, s.assignTo), src: first, frame, at: s.at, next: this.pc + 1 });
      return;
    }
    // Inlining deeper than the bound would leave out what the callee does: the program says it is incomplete.
    if (stack.length >= this.opts.maxDepth) {
      this.truncated = true;
      return;
    }
    const choice = targets.length > 1 ? this.emit({ op: 'choice', targets: [], frame, at: s.at }) : -1;
    const starts: number[] = [];
    const ends: Patch[] = [];
    for (const t of targets) {
      starts.push(this.pc);
      const child = this.frames.push({ fn: t.fn, parent: frame, callAt: s.at, via: t.via }) - 1;
      this.bindParams(frame, child, t.fn, t.args, s.at);
      const exits = this.compileFunction(child, this.graph.bindingsFor(fn, t.args, t.fn, bindings), [...stack, t.fn]);
      exits.forEach((p) => p(this.pc));
      if (s.assignTo) {
        this.emit({
          op: 'assign',
          slot: this.slot(frame, s.assignTo),
          src: { slot: this.slot(child, '$return') },
          frame,
          at: s.at,
          next: this.pc + 1,
        });
      }
      if (s.resultTo) this.receiveStruct(frame, child, s.resultTo, s.at);
      if (targets.length > 1) {
        const pc = this.emit({ op: 'jump', target: -1, frame, at: s.at });
        ends.push((target) => ((this.instrs[pc] as { target: number }).target = target));
      }
    }
    if (choice >= 0) (this.instrs[choice] as { targets: number[] }).targets = starts;
    ends.forEach((p) => p(this.pc));
  }
}

/** A condition that tests the resource (a guard), not just flags or unknowns. */
function testsResource(c: Cond): boolean {
  return (
    c.k === 'isnull' ||
    (c.k === 'not' && testsResource(c.c)) ||
    ((c.k === 'and' || c.k === 'or') && (testsResource(c.a) || testsResource(c.b)))
  );
}

/** Compiles the thread that starts in `entry`. `prelude` frames name core functions above it (for witnesses). */
export function compileThread(graph: CallGraph, entry: FunctionFacts, opts: Partial<CompileOptions> = {}): Program {
  const o = { ...defaultCompileOptions, ...opts };
  const c = new Compiler(graph, o);
  c.frames.push({ fn: entry, parent: -1 });
  // Per call, the blockability stays unknown: the tests the code makes decide it, the same way each time.
  if (o.mayBlock !== 'per-call')
    c.emit({
      op: 'assign',
      slot: c.slot(0, BLOCKABLE),
      flag: o.mayBlock === 'always' ? 'true' : 'false',
      frame: 0,
      at: entry.nameSpan,
      next: c.pc + 1,
    });
  for (const held of o.locksHeld)
    c.emit({
      op: 'lock',
      lock: held.lock,
      mode: 'exclusive',
      fn: 'core',
      frame: 0,
      at: held.at,
      next: c.pc + 1,
      byCore: true,
    });
  const exits = c.compileFunction(0, new Map(), [entry]);
  exits.forEach((p) => p(c.pc));
  for (const held of [...o.locksHeld].reverse())
    c.emit({ op: 'unlock', lock: held.lock, fn: 'core', frame: 0, at: held.at, next: c.pc + 1, byCore: true });
  c.emit({ op: 'end', frame: 0, at: entry.span });
  return programOf(c, o.mayBlock);
}

/** A thread that enters through several alternative functions (one teardown path calling every .release). */
export function compileAlternatives(
  graph: CallGraph,
  entries: readonly FunctionFacts[],
  opts: Partial<CompileOptions> = {},
): Program {
  if (entries.length === 1) return compileThread(graph, entries[0], opts);
  const o = { ...defaultCompileOptions, ...opts };
  const c = new Compiler(graph, o);
  const choice = c.emit({ op: 'choice', targets: [], frame: 0, at: entries[0].span });
  const starts: number[] = [];
  const ends: number[] = [];
  for (const e of entries) {
    starts.push(c.pc);
    const frame = c.frames.push({ fn: e, parent: -1 }) - 1;
    const exits = c.compileFunction(frame, new Map(), [e]);
    exits.forEach((p) => p(c.pc));
    ends.push(c.emit({ op: 'jump', target: -1, frame, at: e.span }));
  }
  (c.instrs[choice] as { targets: number[] }).targets = starts;
  const end = c.emit({ op: 'end', frame: 0, at: entries[0].span });
  for (const pc of ends) (c.instrs[pc] as { target: number }).target = end;
  return programOf(c, 'always');
}

/** A new value of x makes what was known of x.f and *x unknown: each assignment lists the paths below its slot. */
function addClears(c: Compiler): void {
  const below = new Map<string, number[]>();
  c.slotNames.forEach((name, slot) => {
    for (let dot = name.indexOf('.'); dot > 0; dot = name.indexOf('.', dot + 1)) {
      const base = name.slice(0, dot);
      (below.get(base) ?? below.set(base, []).get(base)!).push(slot);
    }
  });
  if (!below.size) return;
  for (const i of c.instrs) {
    if (i.op !== 'assign') continue;
    const clears = below.get(c.slotNames[i.slot]);
    if (clears) i.clears = clears;
  }
}

function programOf(c: Compiler, mayBlock: MayBlock): Program {
  addClears(c);
  const blockableSlot = c.slotNames.indexOf(`0:${BLOCKABLE}`);
  return {
    instrs: c.instrs,
    frames: c.frames,
    slots: c.slotNames.length,
    slotNames: c.slotNames,
    truncated: c.truncated,
    blockableSlot,
    mayBlock,
  };
}

/** The call stack of an instruction, outermost first: function names and the call sites between them. */
export function stackOf(p: Program, frame: number): Frame[] {
  const out: Frame[] = [];
  for (let f = frame; f >= 0; f = p.frames[f].parent) out.unshift(p.frames[f]);
  return out;
}
