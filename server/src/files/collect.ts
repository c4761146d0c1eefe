// Which files of a folder lockpath reads: C sources and headers, picked by globs (for a whole kernel tree, the
// KVM folders that matter), never following a link out of the folder or round a loop, skipping what is too big to
// be source. Whatever in scope it cannot read is listed in `skipped`, so the run can say it is incomplete.
import { lstatSync, readdirSync, realpathSync, statSync, type Stats } from 'node:fs';
import { join, relative, sep } from 'node:path';
import picomatch from 'picomatch';
import { globToRegExp, isKernelRoot, scopeOf, type Scope } from './scope';

// The scope rules (kernel layout, KVM folders, what is left out and why) live in scope.ts.
export {
  GlobError,
  KERNEL_EXCLUDES,
  KERNEL_GLOBS,
  MAX_STARS_PER_SEGMENT,
  globToRegExp,
  isKernelRoot,
  usableGlobs,
} from './scope';

export interface Collected {
  /** Paths relative to the root, with forward slashes, sorted. */
  files: string[];
  /** Files and folders in scope (the globs could pick them) that were not read, and why. */
  skipped: { file: string; reason: string }[];
  /** The globs used (a kernel tree's KVM folders unless given), and the C files the excludes left out. */
  scope: Scope;
  excluded: string[];
}

/** Whether a folder (relative, forward slashes) could hold a file some include glob picks. */
function folderInScope(bases: readonly string[], excluded: (rel: string) => boolean, dir: string): boolean {
  if (excluded(`${dir}/x.c`) && excluded(`${dir}/x.h`)) return false;
  return bases.some((b) => b === '' || b === dir || b.startsWith(`${dir}/`) || dir.startsWith(`${b}/`));
}

export function collectSources(
  root: string,
  opts: { include?: string[]; exclude?: string[]; maxBytes?: number } = {},
): Collected {
  const scope = scopeOf(isKernelRoot(root), opts);
  const include = scope.include.map(globToRegExp);
  const exclude = scope.exclude.map(globToRegExp);
  // The fixed leading folders of each include glob: folders off all of them are not walked at all.
  const bases = scope.include.map((g) => {
    const s = picomatch.scan(g);
    return s.isGlob ? s.base : g;
  });
  const excluded = (rel: string): boolean => exclude.some((r) => r.test(rel));
  const wanted = (rel: string): boolean => /\.[ch]$/.test(rel) && include.some((r) => r.test(rel)) && !excluded(rel);
  const realRoot = realpathSync(root);
  const out: Collected = { files: [], skipped: [], scope, excluded: [] };
  /** `open`: the real paths of the folders being walked, root first, to notice a link back into one of them. */
  const walk = (dir: string, open: string[]): void => {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch (e) {
      out.skipped.push({
        file: relative(root, dir).split(sep).join('/') || '.',
        reason: `unreadable folder: ${(e as Error).message}`,
      });
      return;
    }
    for (const name of names) {
      if (name.startsWith('.') || name === 'node_modules') continue;
      const full = join(dir, name);
      const rel = relative(root, full).split(sep).join('/');
      let st: Stats;
      try {
        st = lstatSync(full);
        if (st.isSymbolicLink()) {
          // Follow a link only while it stays inside the root and does not lead back into a folder being walked.
          const target = realpathSync(full);
          st = statSync(full);
          const inScope = st.isDirectory() ? folderInScope(bases, excluded, rel) : wanted(rel);
          if (target !== realRoot && !target.startsWith(realRoot + sep)) {
            if (inScope) out.skipped.push({ file: rel, reason: 'link leads outside the folder' });
            continue;
          }
          if (st.isDirectory() && open.includes(target)) {
            if (inScope)
              out.skipped.push({
                file: rel,
                reason: `link loops back to ${relative(realRoot, target).split(sep).join('/') || '.'}`,
              });
            continue;
          }
        }
      } catch (e) {
        // A dangling link, a link loop the system refuses to resolve, an entry removed while we read.
        if (wanted(rel) || folderInScope(bases, excluded, rel))
          out.skipped.push({
            file: rel,
            reason: `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
          });
        continue;
      }
      if (st.isDirectory()) {
        if (folderInScope(bases, excluded, rel)) walk(full, [...open, realpathOrSelf(full)]);
        // A folder the excludes leave out whole (hyp/) is named, not walked.
        else if (folderInScope(bases, () => false, rel)) out.excluded.push(`${rel}/`);
        continue;
      }
      if (!/\.[ch]$/.test(name) || !include.some((r) => r.test(rel))) continue;
      if (excluded(rel)) {
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
  walk(root, [realRoot]);
  return out;
}

function realpathOrSelf(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}
