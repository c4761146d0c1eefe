// What lockpath reads in a kernel tree, written once for the CLI, the language server and the git commands: a kernel
// root is known by its layout (virt/kvm beside an arch/<arch>/kvm), not by a Makefile, and the scope is its KVM
// folders minus the EL2 code. Every rule that leaves something out says why, so the CLI can print it.
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
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

/** Folders left out of a kernel tree, each with the reason printed beside it. */
export const KERNEL_LEFT_OUT: readonly { folder: string; why: string }[] = [
  // EL2 code builds and walks its own tables (and the host's): not the guest stage-2 root this tool follows.
  { folder: 'arch/arm64/kvm/hyp/', why: 'EL2 code' },
  { folder: 'arch/arm/kvm/hyp/', why: 'EL2 code' },
];

export const KERNEL_EXCLUDES = KERNEL_LEFT_OUT.map((l) => `${l.folder}**`);

export interface Scope {
  /** The folder is the top of a kernel tree: only the KVM folders are read. */
  kernel: boolean;
  include: string[];
  exclude: string[];
}

/** True when the relative paths (forward slashes) have a kernel's layout: virt/kvm/ and some arch/<arch>/kvm/. */
export function isKernelLayout(paths: Iterable<string>): boolean {
  let virt = false;
  let arch = false;
  for (const p of paths) {
    if (p.startsWith('virt/kvm/')) virt = true;
    else if (/^arch\/[^/]+\/kvm\//.test(p)) arch = true;
    if (virt && arch) return true;
  }
  return false;
}

const isDir = (p: string): boolean => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};

/** A folder that is the top of a kernel tree, by its layout: virt/kvm and arch/<some arch>/kvm are folders. */
export function isKernelRoot(dir: string): boolean {
  if (!isDir(join(dir, 'virt', 'kvm'))) return false;
  let arches: string[];
  try {
    arches = readdirSync(join(dir, 'arch'));
  } catch {
    return false;
  }
  return arches.some((a) => isDir(join(dir, 'arch', a, 'kvm')));
}

/** The kernel tree holding `dir` (dir itself or a folder above it), if any. */
export function findKernelRoot(dir: string): string | undefined {
  for (let d = resolve(dir); ; d = dirname(d)) {
    if (isKernelRoot(d)) return d;
    if (dirname(d) === d) return undefined;
  }
}

/** The globs a folder is read with: given ones win; a kernel tree gets its KVM folders; any other folder all of it. */
export function scopeOf(kernel: boolean, given: { include?: string[]; exclude?: string[] } = {}): Scope {
  return {
    kernel,
    include: given.include ?? (kernel ? KERNEL_GLOBS : ['**']),
    exclude: given.exclude ?? (kernel ? KERNEL_EXCLUDES : []),
  };
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
      throw new GlobError(
        `the glob "${glob}" has ${stars} wildcards in the segment "${segment}"; at most ${MAX_STARS_PER_SEGMENT} are taken (more can take minutes to match one name)`,
      );
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

/** A test for relative paths: a C source or header inside the scope. */
export function scopeFilter(scope: Scope): (rel: string) => boolean {
  const include = scope.include.map(globToRegExp);
  const exclude = scope.exclude.map(globToRegExp);
  return (rel) => /\.[ch]$/.test(rel) && include.some((r) => r.test(rel)) && !exclude.some((r) => r.test(rel));
}

/**
 * One line saying what was read and what was left out, e.g.
 * "read 82 files: arch/arm64/kvm, virt/kvm; left out: arch/arm64/kvm/hyp/ (EL2 code)".
 * `present` are all files seen (in scope or not), to name only left-out folders that exist.
 */
export function describeScope(scope: Scope, read: readonly string[], present: readonly string[] = []): string {
  const folders = new Map<string, number>();
  for (const f of read) {
    const top = folderOf(f, scope.kernel);
    folders.set(top, (folders.get(top) ?? 0) + 1);
  }
  const names = [...folders.keys()].sort();
  const shown = names.length > 8 ? [...names.slice(0, 8), `${names.length - 8} more`] : names;
  let line = `read ${read.length} file${read.length === 1 ? '' : 's'}${shown.length && shown[0] !== '.' ? `: ${shown.join(', ')}` : ''}`;
  if (scope.kernel) {
    const out = KERNEL_LEFT_OUT.filter((l) => present.some((p) => p.startsWith(l.folder)));
    if (out.length) line += `; left out: ${out.map((l) => `${l.folder} (${l.why})`).join(', ')}`;
  }
  return line;
}

/** The folder a file is counted under: in a kernel tree its KVM folder (arch/arm64/kvm, include/linux), else its top. */
function folderOf(rel: string, kernel: boolean): string {
  const parts = rel.split('/');
  if (parts.length === 1) return '.';
  if (!kernel) return parts[0];
  if (parts[0] === 'arch' && parts.length > 3) return parts.slice(0, parts[2] === 'include' ? 4 : 3).join('/');
  return parts
    .slice(0, 2)
    .join('/')
    .replace(/\/[^/]*\.[ch]$/, '');
}
