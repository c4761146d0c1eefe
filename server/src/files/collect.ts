// Which files of a folder lockpath reads: C sources and headers, picked by globs (for a whole kernel tree, the
// KVM folders that matter), never following a link out of the folder, skipping what is too big to be source.
import { lstatSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

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
  skipped: { file: string; reason: string }[];
}

/** Turns a glob (**, *, ?) into a RegExp over forward-slash paths. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      re += '.*';
      i++;
      if (glob[i + 1] === '/') i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** A folder that looks like the top of a kernel tree (then only the KVM folders are read by default). */
export function isKernelRoot(dir: string): boolean {
  try {
    return statSync(join(dir, 'virt', 'kvm')).isDirectory() && statSync(join(dir, 'Makefile')).isFile();
  } catch {
    return false;
  }
}

export function collectSources(root: string, opts: { include?: string[]; exclude?: string[]; maxBytes?: number } = {}): Collected {
  const kernel = isKernelRoot(root);
  const include = (opts.include ?? (kernel ? KERNEL_GLOBS : ['**'])).map(globToRegExp);
  const exclude = (opts.exclude ?? (kernel ? KERNEL_EXCLUDES : [])).map(globToRegExp);
  const realRoot = realpathSync(root);
  const out: Collected = { files: [], skipped: [] };
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
      if (!/\.[ch]$/.test(name) || !include.some((r) => r.test(rel)) || exclude.some((r) => r.test(rel))) continue;
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
