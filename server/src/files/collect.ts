// Which files of a folder lockpath reads: C sources and headers, picked by globs (for a whole kernel tree, the
// KVM folders that matter), never following a link out of the folder, skipping what is too big to be source.
import { lstatSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { globToRegExp, isKernelRoot, scopeOf, type Scope } from './scope';

// The scope rules (kernel layout, KVM folders, what is left out and why) live in scope.ts.
export { KERNEL_EXCLUDES, KERNEL_GLOBS, globToRegExp, isKernelRoot } from './scope';

export interface Collected {
  /** Paths relative to the root, with forward slashes, sorted. */
  files: string[];
  skipped: { file: string; reason: string }[];
  /** The globs used (a kernel tree's KVM folders unless given), and the C files the excludes left out. */
  scope: Scope;
  excluded: string[];
}

export function collectSources(root: string, opts: { include?: string[]; exclude?: string[]; maxBytes?: number } = {}): Collected {
  const scope = scopeOf(isKernelRoot(root), opts);
  const include = scope.include.map(globToRegExp);
  const exclude = scope.exclude.map(globToRegExp);
  const realRoot = realpathSync(root);
  const out: Collected = { files: [], skipped: [], scope, excluded: [] };
  const walk = (dir: string): void => {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch (e) {
      out.skipped.push({ file: relative(root, dir) || '.', reason: `unreadable: ${(e as Error).message}` });
      return;
    }
    for (const name of names) {
      if (name.startsWith('.') || name === 'node_modules') continue;
      const full = join(dir, name);
      const rel = relative(root, full).split(sep).join('/');
      let st = lstatSync(full);
      if (st.isSymbolicLink()) {
        // Follow a link only while it stays inside the root.
        let target: string;
        try {
          target = realpathSync(full);
        } catch {
          continue;
        }
        if (target !== realRoot && !target.startsWith(realRoot + sep)) {
          out.skipped.push({ file: rel, reason: 'link leads outside the folder' });
          continue;
        }
        st = statSync(full);
      }
      if (st.isDirectory()) {
        walk(full);
        continue;
      }
      if (!/\.[ch]$/.test(name) || !include.some((r) => r.test(rel))) continue;
      if (exclude.some((r) => r.test(rel))) {
        out.excluded.push(rel);
        continue;
      }
      if (opts.maxBytes !== undefined && st.size > opts.maxBytes) {
        out.skipped.push({ file: rel, reason: `${st.size} bytes is over the ${opts.maxBytes} limit` });
        continue;
      }
      out.files.push(rel);
    }
  };
  walk(root);
  return out;
}
