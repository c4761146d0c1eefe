// The key of the exploration cache: a program's structure without its positions, hashed in one pass over the
// plain data (no JSON text is built). Two independent 32-bit lanes plus the sizes make an accidental collision,
// which would silently reuse another program's verdicts, negligible.
import type { Program } from './program';

const cache = new WeakMap<Program, string>();

/** Same structure (instructions, frame nesting, slots; `at` spans and frame names left out) gives the same string. */
export function fingerprint(p: Program): string {
  let key = cache.get(p);
  if (key === undefined) {
    const h = new StructuralHash();
    // Frames by shape only: function names are for display (witnesses are rendered against the caller's own
    // program), so hooks that differ only in their names (clear_young, clear_flush_young) share one exploration.
    for (const f of p.frames) h.int(f.parent);
    h.value(p.instrs);
    key = `${p.slots}|${p.truncated}|${p.frames.length}|${p.instrs.length}|${h.digest()}`;
    cache.set(p, key);
  }
  return key;
}

/** Hashes JSON-like data the way JSON.stringify would see it (undefined members skipped), except keys named `at`. */
class StructuralHash {
  private a = 0x811c9dc5;
  private b = 0x3c6ef372;

  int(x: number): void {
    this.a = Math.imul(this.a ^ x, 0x01000193);
    const b = Math.imul(this.b ^ x, 0x5bd1e995);
    this.b = b ^ (b >>> 15);
  }

  string(s: string): void {
    this.int(s.length | 0x40000000);
    for (let i = 0; i < s.length; i++) this.int(s.charCodeAt(i));
  }

  value(v: unknown): void {
    switch (typeof v) {
      case 'string':
        return this.string(v);
      case 'number':
        if (Number.isInteger(v) && Math.abs(v) < 0x40000000) return this.int(v);
        return this.string(`n${v}`);
      case 'boolean':
        return this.int(v ? -3 : -4);
      case 'undefined':
        return this.int(-5);
      case 'object':
        if (v === null) return this.int(-6);
        if (Array.isArray(v)) {
          this.int(-7 - v.length);
          for (const x of v) this.value(x);
          return;
        }
        this.int(-8);
        for (const k in v) {
          const x = (v as Record<string, unknown>)[k];
          if (k === 'at' || x === undefined) continue;
          this.string(k);
          this.value(x);
        }
        this.int(-9);
        return;
      default:
        return this.string(String(v));
    }
  }

  digest(): string {
    return `${(this.a >>> 0).toString(16)}${(this.b >>> 0).toString(16).padStart(8, '0')}`;
  }
}
