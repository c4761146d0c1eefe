// Which files of a folder lockpath reads: C sources and headers, picked by globs (for a whole kernel tree, the
// KVM folders that matter), never following a link out of the folder or round a loop, skipping what is too big to
// be source. Whatever in scope it cannot read is listed in `skipped`, so the run can say it is incomplete.
import { lstatSync, readdirSync, realpathSync, statSync, type Stats } from 'node:fs';
import { join, relative, sep } from 'node:path';
import picomatch from 'picomatch';

/** Where KVM arm/arm64 lives in a kernel tree, across generations. */
export const KERNEL_GLOBS = [
  'virt/kvm/**',
  'arch/arm64/kvm/**',
  'arch/arm/kvm/**',
  'include/kvm/**',
  'include/linux/kvm_host.h',
  'arch/arm64/include/asm/kvm_*.h',
  'arch/arm/include/asm/kvm_*.h',
];

/** EL2 code builds and walks its own tables (and the host's): not the guest stage-2 root this tool follows. */
export const KERNEL_EXCLUDES = ['arch/arm64/kvm/hyp/**', 'arch/arm/kvm/hyp/**'];

export interface Collected {
  /** Paths relative to the root, with forward slashes, sorted. */
  files: string[];
  /** Files and folders in scope (the globs could pick them) that were not read, and why. */
  skipped: { file: string; reason: string }[];
}

/** A glob lockpath will not match: the message says which and why. */
export class GlobError extends Error {}

/**
 * Star runs one path segment may hold. Glob matchers compile globs to backtracking regular expressions, where each
 * star in a segment multiplies the work on a long name (`*a*a*a*a` against 200 characters takes most of a second,
 * five stars minutes); three keep the worst case under a tenth of a second.
 */
export const MAX_STARS_PER_SEGMENT = 3;

/** A glob (picomatch syntax, over forward-slash paths) as a test; names may hold any character, newlines too. */
export function globToRegExp(glob: string): RegExp {
  for (const segment of glob.split('/')) {
    const stars = segment.match(/\*+/g)?.length ?? 0;
    if (stars > MAX_STARS_PER_SEGMENT) {
      throw new GlobError(`the glob "${glob}" has ${stars} wildcards in the segment "${segment}"; at most ${MAX_STARS_PER_SEGMENT} are taken (more can take minutes to match one name)`);
    }
  }
  return picomatch.makeRe(glob, { dot: true, flags: 's' });
}

/** The globs that compile, for the language server's incremental checks (collectSources reports the others). */
export function usableGlobs(globs: readonly string[]): RegExp[] {
  return globs.flatMap((g) => {
    try {
      return [globToRegExp(g)];
    } catch {
      return [];
    }
  });
}

/** A folder that looks like the top of a kernel tree (then only the KVM folders are read by default). */
export function isKernelRoot(dir: string): boolean {
  try {
    return statSync(join(dir, 'virt', 'kvm')).isDirectory() && statSync(join(dir, 'Makefile')).isFile();
  } catch {
    return false;
  }
}

/** Whether a folder (relative, forward slashes) could hold a file some include glob picks. */
function folderInScope(bases: readonly string[], excluded: (rel: string) => boolean, dir: string): boolean {
  if (excluded(`${dir}/x.c`) && excluded(`${dir}/x.h`)) return false;
  return bases.some((b) => b === '' || b === dir || b.startsWith(`${dir}/`) || dir.startsWith(`${b}/`));
}

export function collectSources(root: string, opts: { include?: string[]; exclude?: string[]; maxBytes?: number } = {}): Collected {
  const kernel = isKernelRoot(root);
  const includeGlobs = opts.include ?? (kernel ? KERNEL_GLOBS : ['**']);
  const include = includeGlobs.map(globToRegExp);
  const exclude = (opts.exclude ?? (kernel ? KERNEL_EXCLUDES : [])).map(globToRegExp);
  // The fixed leading folders of each include glob: folders off all of them are not walked at all.
  const bases = includeGlobs.map((g) => {
    const s = picomatch.scan(g);
    return s.isGlob ? s.base : g;
  });
  const excluded = (rel: string): boolean => exclude.some((r) => r.test(rel));
  const wanted = (rel: string): boolean => /\.[ch]$/.test(rel) && include.some((r) => r.test(rel)) && !excluded(rel);
  const realRoot = realpathSync(root);
  const out: Collected = { files: [], skipped: [] };
  /** `open`: the real paths of the folders being walked, root first, to notice a link back into one of them. */
  const walk = (dir: string, open: string[]): void => {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch (e) {
      out.skipped.push({ file: relative(root, dir).split(sep).join('/') || '.', reason: `unreadable folder: ${(e as Error).message}` });
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
            if (inScope) out.skipped.push({ file: rel, reason: `link loops back to ${relative(realRoot, target).split(sep).join('/') || '.'}` });
            continue;
          }
        }
      } catch (e) {
        // A dangling link, a link loop the system refuses to resolve, an entry removed while we read.
        if (wanted(rel) || folderInScope(bases, excluded, rel)) out.skipped.push({ file: rel, reason: `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` });
        continue;
      }
      if (st.isDirectory()) {
        if (folderInScope(bases, excluded, rel)) walk(full, [...open, realpathOrSelf(full)]);
        continue;
      }
      if (!wanted(rel)) continue;
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
