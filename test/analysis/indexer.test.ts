// The indexer, one construct at a time, on real tree-sitter parses of small kernel-style inputs.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { applyChange, loadParser, type CParser } from '../../server/src/analysis';
import type { FileFacts, FunctionFacts, Stmt } from '../../server/src/analysis/index/facts';
import { indexTree } from '../../server/src/analysis/index/indexer';
import { kvmArmV4 } from '../../server/src/analysis/model/builtin';

let parser: CParser;
before(async () => {
  parser = await loadParser();
});

function index(text: string): FileFacts {
  const tree = parser.parse(text);
  try {
    return indexTree('t.c', tree, kvmArmV4);
  } finally {
    tree.delete();
  }
}

function fn(facts: FileFacts, name: string): FunctionFacts {
  const f = facts.functions.find((x) => x.name === name);
  assert.ok(f, `function ${name} not indexed; have ${facts.functions.map((x) => x.name).join(', ')}`);
  return f;
}

const calls = (f: FunctionFacts): string[] => f.calls.map((c) => (c.callee.kind === 'field' ? `.${c.callee.field}` : c.callee.kind === 'variable' ? `*${c.callee.name}` : c.callee.name));

function flat(stmts: readonly Stmt[]): Stmt[] {
  return stmts.flatMap((s) => [s, ...(s.k === 'if' ? [...flat(s.then), ...flat(s.else)] : s.k === 'loop' ? [...flat(s.test), ...flat(s.body)] : s.k === 'switch' ? flat(s.body) : [])]);
}

describe('functions', () => {
  it('records name, return type with pointer stars, parameters and ranges', () => {
    const f = index(`static pud_t *stage2_get_pud(struct kvm *kvm, struct kvm_mmu_memory_cache *cache,\n\t\t\t    phys_addr_t addr)\n{\n\treturn NULL;\n}\n`);
    const g = fn(f, 'stage2_get_pud');
    assert.equal(g.returnType, 'pud_t *');
    assert.deepEqual(g.params.map((p) => p.name), ['kvm', 'cache', 'addr']);
    assert.equal(g.span.line, 0);
    assert.equal(g.span.endLine, 4);
    assert.equal(g.nameSpan.column, 14);
  });

  it('strips storage classes and kernel attributes from the return type', () => {
    const f = index(`static __always_inline bool kvm_young(struct kvm *kvm) __must_hold(&kvm->mmu_lock)\n{\n\treturn false;\n}\nstatic inline void noisy(void) { }\n`);
    assert.equal(fn(f, 'kvm_young').returnType, 'bool');
    assert.equal(fn(f, 'noisy').returnType, 'void');
  });

  it('marks function-pointer parameters and walk-typed pointers', () => {
    const f = index(`static int handle_hva_to_gpa(struct kvm *kvm, unsigned long start, unsigned long end,\n\tint (*handler)(struct kvm *kvm, gpa_t gpa, u64 size, void *data), void *data)\n{\n\treturn handler(kvm, 0, 0, data);\n}\nstatic void unmap_stage2_puds(struct kvm *kvm, pgd_t *pgd, phys_addr_t addr) { }\n`);
    const h = fn(f, 'handle_hva_to_gpa');
    assert.deepEqual(h.params.filter((p) => p.isFunctionPointer).map((p) => p.name), ['handler']);
    assert.deepEqual(calls(h), ['*handler']);
    assert.equal(fn(f, 'unmap_stage2_puds').params.find((p) => p.name === 'pgd')?.walks, true);
  });
});

describe('calls', () => {
  it('records direct calls in order, with the functions passed as arguments', () => {
    const f = index(`int kvm_age_hva(struct kvm *kvm, unsigned long start, unsigned long end)\n{\n\ttrace_kvm_age_hva(start, end);\n\treturn handle_hva_to_gpa(kvm, start, end, kvm_age_hva_handler, NULL);\n}\nvoid kvm_set_spte_hva(struct kvm *kvm)\n{\n\thandle_hva_to_gpa(kvm, 0, 0, &kvm_set_spte_handler, NULL);\n}\n`);
    assert.deepEqual(calls(fn(f, 'kvm_age_hva')), ['trace_kvm_age_hva', 'handle_hva_to_gpa']);
    assert.equal(fn(f, 'kvm_age_hva').calls[1].args[3].functionName, 'kvm_age_hva_handler');
    assert.equal(fn(f, 'kvm_set_spte_hva').calls[0].args[3].functionName, 'kvm_set_spte_handler');
  });

  it('records calls through struct fields and through table lookups', () => {
    const f = index(`static exit_handle_fn kvm_get_exit_handler(struct kvm_vcpu *vcpu)\n{\n\tu8 ec = ESR_ELx_EC(kvm_vcpu_get_hsr(vcpu));\n\treturn arm_exit_handlers[ec];\n}\nint handle_exit(struct kvm_vcpu *vcpu, struct kvm_run *run)\n{\n\texit_handle_fn exit_handler;\n\texit_handler = kvm_get_exit_handler(vcpu);\n\treturn exit_handler(vcpu, run);\n}\nvoid f(struct mmu_notifier *mn) { mn->ops->release(mn, mm); }\n`);
    assert.deepEqual(f.tableReturns, [{ function: 'kvm_get_exit_handler', table: 'arm_exit_handlers' }]);
    assert.deepEqual(calls(fn(f, 'handle_exit')), ['kvm_get_exit_handler', '*exit_handler']);
    assert.deepEqual(fn(f, 'handle_exit').varSources, [{ variable: 'exit_handler', from: { call: 'kvm_get_exit_handler' } }]);
    assert.deepEqual(calls(fn(f, 'f')), ['.release']);
  });
});

describe('tables', () => {
  it('reads struct initializers and designated array initializers naming functions', () => {
    const f = index(`static const struct mmu_notifier_ops kvm_mmu_notifier_ops = {\n\t.clear_flush_young\t= kvm_mmu_notifier_clear_flush_young,\n\t.release\t\t= kvm_mmu_notifier_release,\n\t.flags = 0,\n};\nstatic exit_handle_fn arm_exit_handlers[] = {\n\t[0 ... ESR_ELx_EC_MAX]\t= kvm_handle_unknown_ec,\n\t[ESR_ELx_EC_DABT_LOW]\t= kvm_handle_guest_abort,\n};\n`);
    const ops = f.tables.find((t) => t.variable === 'kvm_mmu_notifier_ops');
    assert.equal(ops?.structType, 'mmu_notifier_ops');
    assert.deepEqual(ops?.entries.map((e) => `${e.key}=${e.function}`), ['clear_flush_young=kvm_mmu_notifier_clear_flush_young', 'release=kvm_mmu_notifier_release']);
    const exits = f.tables.find((t) => t.variable === 'arm_exit_handlers');
    assert.deepEqual(exits?.entries.map((e) => `${e.keyKind}:${e.function}`), ['index:kvm_handle_unknown_ec', 'index:kvm_handle_guest_abort']);
  });

  it('reads initializers of locals (handlers in a range descriptor)', () => {
    const f = index(`bool kvm_mmu_notifier_clear_young(struct mmu_notifier *mn)\n{\n\tconst struct kvm_hva_range range = {\n\t\t.start = 0,\n\t\t.handler = kvm_age_gfn,\n\t};\n\treturn __kvm_handle_hva_range(kvm, &range);\n}\n`);
    assert.deepEqual(f.tables.map((t) => `${t.variable}:${t.entries.map((e) => e.function)}`), ['range:kvm_age_gfn']);
  });
});

describe('locks', () => {
  it('records spinlock, rwlock and reschedule operations with the lock name and mode', () => {
    const f = index(`void w(struct kvm *kvm)\n{\n\tspin_lock(&kvm->mmu_lock);\n\tcond_resched_lock(&kvm->mmu_lock);\n\tspin_unlock(&kvm->mmu_lock);\n\twrite_lock(&kvm->mmu_lock);\n\tcond_resched_rwlock_write(&kvm->mmu_lock);\n\twrite_unlock(&kvm->mmu_lock);\n\tread_lock(&kvm->mmu_lock);\n\tcond_resched_rwlock_read(&kvm->mmu_lock);\n\tread_unlock(&kvm->mmu_lock);\n}\n`);
    const locks = flat(fn(f, 'w').body).filter((s) => s.k === 'lock').map((s) => (s.k === 'lock' ? `${s.op}:${s.mode}:${s.lock}` : ''));
    assert.deepEqual(locks, [
      'acquire:exclusive:mmu_lock', 'resched:exclusive:mmu_lock', 'release:exclusive:mmu_lock',
      'acquire:exclusive:mmu_lock', 'resched:exclusive:mmu_lock', 'release:exclusive:mmu_lock',
      'acquire:shared:mmu_lock', 'resched:shared:mmu_lock', 'release:shared:mmu_lock',
    ]);
  });

  it('knows which locks are held at each call', () => {
    const f = index(`void g(struct kvm *kvm)\n{\n\tbefore(kvm);\n\tspin_lock(&kvm->mmu_lock);\n\tunder(kvm);\n\tspin_unlock(&kvm->mmu_lock);\n\tafter(kvm);\n}\n`);
    assert.deepEqual(fn(f, 'g').calls.map((c) => `${c.callee.kind === 'direct' ? c.callee.name : ''}:${c.locksHeld}`), ['before:', 'under:mmu_lock', 'after:']);
  });
});

describe('the stage-2 root', () => {
  it('sees reads, aliases, READ_ONCE, dereferences, writes and frees', () => {
    const f = index(`static pud_t *stage2_get_pud(struct kvm *kvm, phys_addr_t addr)\n{\n\tpgd_t *pgd;\n\tpgd = kvm->arch.pgd + stage2_pgd_index(addr);\n\tif (stage2_pgd_none(*pgd))\n\t\treturn NULL;\n\treturn stage2_pud_offset(pgd, addr);\n}\nvoid kvm_free_stage2_pgd(struct kvm *kvm)\n{\n\tvoid *pgd = NULL;\n\tspin_lock(&kvm->mmu_lock);\n\tif (kvm->arch.pgd) {\n\t\tpgd = READ_ONCE(kvm->arch.pgd);\n\t\tkvm->arch.pgd = NULL;\n\t}\n\tspin_unlock(&kvm->mmu_lock);\n\tif (pgd)\n\t\tfree_pages_exact(pgd, S2_PGD_SIZE);\n}\nvoid reads_only(struct kvm *kvm) { if (!kvm->arch.pgd) return; }\n`);
    const pud = fn(f, 'stage2_get_pud');
    assert.deepEqual(pud.uses.map((u) => `${u.kind}@${u.at.line}`), ['read@3', 'deref@4']);
    assert.equal(pud.touchesRoot, true);
    const free = fn(f, 'kvm_free_stage2_pgd');
    assert.deepEqual(free.uses.map((u) => `${u.kind}@${u.at.line}:${u.locksHeld}`), ['guard@12:mmu_lock', 'read@13:mmu_lock', 'write@14:mmu_lock', 'guard@17:', 'free@18:']);
    const write = flat(free.body).find((s) => s.k === 'write');
    assert.equal(write?.k === 'write' && write.value, 'null');
    assert.equal(fn(f, 'reads_only').touchesRoot, false, 'a function that only tests the root is not a walker');
  });

  it('recognises the guard forms and what each protects', () => {
    const f = index(`int a(struct kvm *kvm)\n{\n\tif (!kvm->arch.pgd)\n\t\treturn 0;\n\twalk(kvm);\n\treturn 1;\n}\nvoid b(struct kvm *kvm)\n{\n\tif (kvm->arch.pgd == NULL)\n\t\treturn;\n\twalk(kvm);\n}\nvoid c(struct kvm *kvm)\n{\n\tpgd_t *pgd = kvm->arch.pgd;\n\tif (pgd) {\n\t\twalk(kvm);\n\t}\n\tother(kvm);\n}\nvoid d(struct kvm *kvm)\n{\n\tdo {\n\t\tif (!READ_ONCE(kvm->arch.pgd))\n\t\t\tbreak;\n\t\twalk(kvm);\n\t} while (more());\n}\n`);
    assert.deepEqual(fn(f, 'a').guards.map((g) => `${g.form}:${g.onField}`), ['early-exit:true']);
    assert.equal(fn(f, 'a').calls[0].guards.length, 1, 'the walk after if (!pgd) return is protected');
    assert.deepEqual(fn(f, 'b').guards.map((g) => g.form), ['early-exit']);
    assert.deepEqual(fn(f, 'c').guards.map((g) => `${g.form}:${g.onField}`), ['block:false']);
    assert.deepEqual(fn(f, 'c').calls.map((c) => c.guards.length), [1, 0], 'only the call inside if (pgd) { } is protected');
    assert.deepEqual(fn(f, 'd').guards.map((g) => g.form), ['early-exit']);
    assert.equal(fn(f, 'd').calls[0].guards.length, 1);
  });

  it('evaluates short-circuit conditions in order: no dereference before its NULL test', () => {
    const f = index(`int e(struct kvm *kvm)\n{\n\tpgd_t *pgd = kvm->arch.pgd;\n\tif (!pgd || stage2_pgd_none(*pgd))\n\t\treturn 0;\n\treturn 1;\n}\n`);
    const body = fn(f, 'e').body;
    const top = body.map((s) => s.k);
    assert.deepEqual(top, ['assign', 'if', 'return'], 'the dereference sits inside the else of the NULL test');
    const inner = body[1].k === 'if' ? body[1].else : [];
    assert.deepEqual(inner.map((s) => s.k), ['deref', 'call', 'if']);
  });
});

describe('kernel macro soup and broken code', () => {
  const soup = `static DEFINE_SPINLOCK(kvm_lock);
static inline struct kvm *mmu_notifier_to_kvm(struct mmu_notifier *mn)
{
	return container_of(mn, struct kvm, mmu_notifier);
}
static int handle_hva_to_gpa(struct kvm *kvm, unsigned long start, unsigned long end,
			     int (*handler)(struct kvm *kvm, gpa_t gpa, u64 size, void *data), void *data)
{
	struct kvm_memory_slot *memslot;
	int ret = 0;
	kvm_for_each_memslot(memslot, kvm_memslots(kvm)) {
		ret |= handler(kvm, memslot->base_gfn << PAGE_SHIFT, PAGE_SIZE, data);
	}
	list_for_each_entry(x, &kvm->devices, list)
		visit(x);
	return ret;
}
static void unmap_stage2_range(struct kvm *kvm, phys_addr_t start, u64 size)
	__must_hold(&kvm->mmu_lock)
{
	pgd_t *pgd = kvm->arch.pgd;
	assert_spin_locked(&kvm->mmu_lock);
	do {
		if (!stage2_pgd_none(*pgd))
			unmap_stage2_puds(kvm, pgd, start, size);
		cond_resched_lock(&kvm->mmu_lock);
	} while (pgd++, start != size);
}
static void lock_it(struct kvm *kvm) __acquires(&kvm->mmu_lock)
{
	spin_lock(&kvm->mmu_lock);
}
#ifdef CONFIG_KVM_ARM
static __always_inline int kvm_age_hva(struct kvm *kvm, unsigned long start, unsigned long end)
{
	return handle_hva_to_gpa(kvm, start, end, kvm_age_hva_handler, NULL);
}
#endif
EXPORT_SYMBOL_GPL(kvm_age_hva);
`;

  it('loses no function and no call to container_of, loop macros or annotations', () => {
    const f = index(soup);
    assert.deepEqual(f.functions.map((x) => x.name).sort(), ['handle_hva_to_gpa', 'kvm_age_hva', 'lock_it', 'mmu_notifier_to_kvm', 'unmap_stage2_range']);
    assert.deepEqual(calls(fn(f, 'mmu_notifier_to_kvm')), ['container_of']);
    assert.deepEqual(calls(fn(f, 'handle_hva_to_gpa')), ['kvm_memslots', 'kvm_for_each_memslot', '*handler', 'list_for_each_entry', 'visit']);
    const loops = fn(f, 'handle_hva_to_gpa').body.filter((s) => s.k === 'loop');
    assert.equal(loops.length, 2, 'both loop macros become loops around their bodies');
    assert.deepEqual(calls(fn(f, 'unmap_stage2_range')), ['assert_spin_locked', 'stage2_pgd_none', 'unmap_stage2_puds']);
    assert.ok(flat(fn(f, 'unmap_stage2_range').body).some((s) => s.k === 'lock' && s.op === 'resched'));
    assert.deepEqual(calls(fn(f, 'kvm_age_hva')), ['handle_hva_to_gpa']);
    assert.equal(fn(f, 'kvm_age_hva').returnType, 'int');
  });

  it('lowers #if / #else inside a body as alternatives, and a case label as no statement', () => {
    const f = index(`int pick(struct kvm *kvm, int op)\n{\n#ifdef CONFIG_ARM64\n\twalk_new(kvm);\n#else\n\twalk_old(kvm);\n#endif\n\tswitch (op) {\n\tcase probe(1):\n\t\tafter_case(kvm);\n\t}\n\treturn 0;\n}\n`);
    const body = fn(f, 'pick').body;
    const alt = body.find((s) => s.k === 'if');
    assert.ok(alt && alt.k === 'if', 'the #ifdef is a branch');
    assert.deepEqual(alt.then.filter((s) => s.k === 'call').map((s) => s.k === 'call' && s.callee.kind === 'direct' && s.callee.name), ['walk_new']);
    assert.deepEqual(flat(alt.else).filter((s) => s.k === 'call').map((s) => s.k === 'call' && s.callee.kind === 'direct' && s.callee.name), ['walk_old']);
    // The label's value is evaluated by the switch, not run as a statement after the label.
    const sw = body.find((s) => s.k === 'switch');
    assert.ok(sw && sw.k === 'switch');
    assert.deepEqual(flat(sw.body).filter((s) => s.k === 'call').map((s) => s.k === 'call' && s.callee.kind === 'direct' && s.callee.name), ['after_case']);
  });

  it('keeps the functions around a half-typed one', () => {
    const f = index(`void before(struct kvm *kvm)\n{\n\tspin_lock(&kvm->mmu_lock);\n}\nint half(struct kvm *kvm)\n{\n\tif (!kvm->arch.pgd\n\tstage2_get_pud(kvm, NULL, 0\n}\nvoid after(struct kvm *kvm)\n{\n\tunmap_stage2_range(kvm, 0, 1);\n}\n`);
    const names = f.functions.map((x) => x.name);
    assert.ok(names.includes('before') && names.includes('after'), `functions: ${names}`);
    assert.deepEqual(calls(fn(f, 'after')), ['unmap_stage2_range']);
    assert.ok(f.problems.length > 0, 'the unparsable region is reported');
    assert.ok(f.problems.every((p) => p.at.line >= 4 && p.at.line <= 9), 'problems point at the broken function');
  });

  it('recovers a function whose signature tree-sitter cannot read', () => {
    const f = index(`static int __init __cold weird(struct kvm *kvm) __attribute__((noinline)) __acquires(kvm->mmu_lock) __releases(kvm->mmu_lock)\n{\n\tstage2_wp_range(kvm, 0, 1);\n\treturn 0;\n}\n`);
    assert.deepEqual(calls(fn(f, 'weird')), ['stage2_wp_range']);
  });

  it('never throws on garbage', () => {
    for (const text of ['', '}}}}', '{'.repeat(300), 'int f(', '\0\0\0', 'static struct x = { .a = , };', '#define X(a) { a', 'void f(void) { ' + 'if (x) '.repeat(200) + 'g(); }']) {
      const f = index(text);
      assert.ok(Array.isArray(f.functions));
    }
  });
});

describe('incremental re-parse', () => {
  it('gives the same facts as a fresh parse after edits', () => {
    const text = `int kvm_age_hva(struct kvm *kvm)\n{\n\treturn handle_hva_to_gpa(kvm, 0, 0, kvm_age_hva_handler, NULL);\n}\n`;
    const tree = parser.parse(text);
    const change = { start: { line: 2, character: 1 }, end: { line: 2, character: 1 }, text: 'if (!kvm->arch.pgd)\n\t\treturn 0;\n\t' };
    const next = applyChange(text, change, tree);
    const reparsed = parser.parse(next, tree);
    const fresh = parser.parse(next);
    const a = indexTree('t.c', reparsed, kvmArmV4);
    const b = indexTree('t.c', fresh, kvmArmV4);
    assert.equal(reparsed.rootNode.toString(), fresh.rootNode.toString());
    assert.deepEqual(a, b);
    assert.equal(a.functions[0].guards.length, 1);
    for (const t of [tree, reparsed, fresh]) t.delete();
  });
});
