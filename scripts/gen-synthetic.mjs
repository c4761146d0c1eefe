#!/usr/bin/env node
// Generates a synthetic, kernel-sized KVM arm stage-2 tree for `npm run bench`: deterministic (seeded), never
// committed, written to a folder given on the command line (the bench writes it to a temp folder).
//
//   node scripts/gen-synthetic.mjs OUTDIR [--scale N] [--seed S]
//
// Scale 1 is one virt/kvm/arm/mmu.c of about 2 000 lines with the shapes of the bundled example's mmu.c: the
// stage2_get_pud/pmd walkers, handle_hva_to_gpa with function-pointer handlers, the built-in notifier hooks
// (kvm_age_hva, kvm_test_age_hva, kvm_set_spte_hva, kvm_unmap_hva_range, ...) with and without the
// `if (!kvm->arch.pgd)` guard, unmap loops with cond_resched_lock, kvm_free_stage2_pgd and
// kvm_arch_flush_shadow_all, VCPU and VM-ioctl paths. On top of that core come "units": a family of walkers
// (range -> puds -> pmds -> ptes, and a lookup through stage2_get_pmd), a handler, an hva hook, and a notifier
// callback registered in a `static const struct mmu_notifier_ops` table. Only one table has .release (one
// teardown). Scale N keeps that mmu.c as it is and adds unit files (virt/kvm/arm/s2/walk-NNN.c, each about the
// size of the scale-1 mmu.c) until the tree has N times its lines: more walkers, hooks and call paths, the same
// single teardown. Unit i is the same text at every scale, so the scale-1 tree is part of every larger one.
// The C text is scripts/bench/synthetic-template.c (sections with {{...}} slots); this file draws each unit's variant
// and assembles the files. This is synthetic test input, not kernel source.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DEFAULT_SEED = 0x6c6b7074; // "lkpt"
/** Units that live in mmu.c itself at every scale (this makes scale 1 about 2 000 lines). */
const CORE_UNITS = 9;
const UNIT_FILE_TARGET = 2000;

/** mulberry32: a small, fast, seedable PRNG. */
function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    pick: (xs) => xs[Math.floor(next() * xs.length)],
    chance: (p) => next() < p,
  };
}

const VERBS = [
  'flush',
  'wp',
  'clean',
  'mkold',
  'probe',
  'scan',
  'sync',
  'split',
  'relax',
  'dirty',
  'zap',
  'touch',
  'audit',
  'pin',
  'mark',
];
const NOTIFIER_FIELDS = [
  'clear_young',
  'test_young',
  'clear_flush_young',
  'invalidate_range_start',
  'change_pte',
  'invalidate_range_end',
];
const LEAVES = ['leafFlush', 'leafMkold', 'leafReadonly', 'leafYoung'];

// ---------------------------------------------------------------------------------------------------------------
// The C text lives in scripts/bench/synthetic-template.c, in sections; this file only picks each unit's variant.

const TEMPLATE_FILE = join(dirname(fileURLToPath(import.meta.url)), 'bench', 'synthetic-template.c');

/** The template's sections by name: the text between a line `/*@@ NAME @@` (rest of the line ignored) and the next. */
export function readTemplate(file = TEMPLATE_FILE) {
  const parts = readFileSync(file, 'utf8').split(/^\/\*@@ (\w+) @@.*\n/m);
  const sections = {};
  for (let k = 1; k < parts.length; k += 2) sections[parts[k]] = parts[k + 1];
  return sections;
}

/**
 * Fills a section in: {{#flag}}...{{/flag}} kept when flags[flag], {{^flag}}...{{/flag}} when not (a marker alone on
 * its line takes the line with it), then {{name}} replaced by values[name]. An unknown name is an error.
 */
export function fill(text, values = {}) {
  const known = (name) => {
    if (!(name in values)) throw new Error(`synthetic-template.c: no value for {{${name}}}`);
    return values[name];
  };
  let out = text.replace(/^[ \t]*(\{\{[#^/]\w+\}\})[ \t]*\n/gm, '$1');
  // Outer sections first; what a kept section holds is filled in on the next round.
  for (let before = ''; before !== out;) {
    before = out;
    out = out.replace(/\{\{([#^])(\w+)\}\}([\s\S]*?)\{\{\/\2\}\}/g, (_, kind, name, inner) =>
      !!known(name) === (kind === '#') ? inner : '',
    );
  }
  return out.replace(/\{\{(\w+)\}\}/g, (_, name) => String(known(name)));
}

const template = readTemplate();

function core() {
  return fill(template.core);
}

// ---------------------------------------------------------------------------------------------------------------
// A unit: one walker family, a lookup, a handler, an hva hook and its notifier callback, varied per unit (seeded).

function unit(i, seed) {
  const r = rng(seed ^ Math.imul(i + 1, 0x9e3779b1));
  const verb = VERBS[i % VERBS.length];
  const p = `stage2_${verb}${i}`;
  const hook = `kvm_${verb}${i}_hva`;
  // The draws, in this order (the order fixes each unit's text for a seed).
  const rangeKind = r.pick(['guarded-resched', 'guarded-resched', 'plain', 'plain', 'guard-top', 'stale-resched']);
  const hookGuard = r.chance(0.6);
  const handlerKind = r.pick(['range', 'lookup', 'both', 'lookup']);
  const deep = r.pick([3, 3, 2]) === 3; // puds -> pmds -> ptes, or puds -> pmds (blocks only)
  const leaf = r.pick(LEAVES);
  const extraLocals = r.int(3);
  const wantedFlags = 1 + r.int(7);
  const pteFlags = deep ? r.int(4) : 0;
  const text = fill(template.unit, {
    i,
    p,
    hook,
    h: `hyp_${verb}${i}`,
    rangeKind,
    hookKind: hookGuard ? 'guarded' : 'unguarded',
    handlerKind,
    wantedFlags,
    pteFlags,
    deep,
    ...Object.fromEntries(LEAVES.map((l) => [l, l === leaf])),
    localVisited: extraLocals >= 1,
    localRounds: extraLocals >= 2,
    guardTop: rangeKind === 'guard-top',
    loopGuard: rangeKind === 'guarded-resched',
    resched: rangeKind === 'guarded-resched' || rangeKind === 'stale-resched',
    handlerRange: handlerKind === 'range',
    handlerLookup: handlerKind === 'lookup',
    handlerBoth: handlerKind === 'both',
    hookGuard,
  });
  return { text, notifier: `${p}_notifier` };
}

/** `static const struct mmu_notifier_ops` tables over the given units (up to four callbacks per table). */
function tables(tag, units, withRelease) {
  const out = [];
  for (let t = 0; t * 4 < units.length; t++) {
    const group = units.slice(t * 4, t * 4 + 4);
    const fields = group.map((u, k) => `\t.${NOTIFIER_FIELDS[(t + k) % NOTIFIER_FIELDS.length]}\t= ${u.notifier},`);
    if (withRelease && t === 0) fields.push('\t.release\t= kvm_s2_notifier_release,');
    out.push(`static const struct mmu_notifier_ops ${tag}_ops_${t} = {\n${fields.join('\n')}\n};\n`);
  }
  return out.join('\n');
}

const countLines = (s) => s.split('\n').length;

/** The tree as [relative path, text] pairs. */
export function generateSynthetic({ scale = 1, seed = DEFAULT_SEED } = {}) {
  const files = [];
  let next = 0;
  const coreUnits = [];
  for (let k = 0; k < CORE_UNITS; k++) coreUnits.push(unit(next++, seed));
  const mmu = [core(), ...coreUnits.map((u) => u.text), tables('kvm_s2', coreUnits, true)].join('\n');
  files.push(['virt/kvm/arm/mmu.c', mmu]);
  const base = countLines(mmu);
  let total = base;
  const target = Math.round(base * scale);
  let part = 0;
  while (total < target - UNIT_FILE_TARGET / 4) {
    const units = [];
    const head = fill(template.part, { part });
    let lines = countLines(head);
    const budget = Math.min(UNIT_FILE_TARGET, target - total);
    while (lines < budget) {
      const u = unit(next++, seed);
      units.push(u);
      lines += countLines(u.text) + 1;
    }
    const text = [head, ...units.map((u) => u.text), tables(`s2_part${part}`, units, false)].join('\n');
    files.push([`virt/kvm/arm/s2/walk-${String(part).padStart(3, '0')}.c`, text]);
    total += countLines(text);
    part++;
  }
  return files;
}

/** Writes the tree under `dir` (emptied first); returns its files and line count. */
export function writeSynthetic(dir, opts = {}) {
  rmSync(dir, { recursive: true, force: true });
  const files = generateSynthetic(opts);
  for (const [rel, text] of files) {
    const p = join(dir, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
  }
  return { dir, files: files.length, lines: files.reduce((n, [, t]) => n + countLines(t), 0) };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const out = args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
  const flag = (name, dflt) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : dflt;
  };
  if (!out) {
    console.error('usage: node scripts/gen-synthetic.mjs OUTDIR [--scale N] [--seed S]');
    process.exit(2);
  }
  const r = writeSynthetic(out, { scale: flag('scale', 1), seed: flag('seed', DEFAULT_SEED) });
  console.log(`${r.dir}: ${r.files} files, ${r.lines} lines`);
}
