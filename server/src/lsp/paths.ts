// How the server names files. The analysis sees keys: paths relative to the workspace folder (virt/kvm/arm/mmu.c),
// prefixed by the folder's name when there are several; a document outside every folder keeps its URI as key.
// The editor sees URIs. Files are read only when their real path (links resolved) lies inside a folder.
import { realpathSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { findKernelRoot } from '../files/scope';

export interface Root {
  /** Unique among the roots; the key prefix when there are several. */
  name: string;
  fsPath: string;
  uri: string;
}

const SCHEME = /^[a-zA-Z][a-zA-Z0-9+.-]+:/;

export function fsPathOfUri(uri: string): string | undefined {
  if (!uri.startsWith('file:')) return undefined;
  try {
    return fileURLToPath(uri);
  } catch {
    return undefined;
  }
}

export function uriOfFsPath(path: string): string {
  return pathToFileURL(path).href;
}

/** The kernel tree a folder lies in, known by its layout as the CLI knows it (files/scope.ts), if any. */
export function kernelRootOf(fsPath: string): string | undefined {
  return findKernelRoot(fsPath);
}

export function makeRoots(folders: readonly { uri: string; name?: string }[]): Root[] {
  const roots: Root[] = [];
  for (const f of folders) {
    const fsPath = fsPathOfUri(f.uri);
    if (!fsPath) continue;
    let name = (f.name || fsPath.split(sep).pop() || 'root').replace(/[/\\]/g, '_');
    while (roots.some((r) => r.name === name)) name += '_';
    roots.push({ name, fsPath, uri: f.uri });
  }
  return roots;
}

export class Paths {
  private readonly realRoots: (string | undefined)[];

  constructor(readonly roots: readonly Root[]) {
    this.realRoots = roots.map((r) => {
      try {
        return realpathSync(r.fsPath);
      } catch {
        return undefined;
      }
    });
  }

  /** The analysis key of a document or file. */
  keyOfUri(uri: string): string {
    const fsPath = fsPathOfUri(uri);
    return fsPath ? (this.keyOfFsPath(fsPath) ?? uri) : uri;
  }

  /** Relative to the first folder holding it (lexically); undefined outside every folder. */
  keyOfFsPath(fsPath: string): string | undefined {
    for (const r of this.roots) {
      const rel = relative(r.fsPath, fsPath);
      if (!rel || rel.startsWith('..') || isAbsolute(rel)) continue;
      const posix = rel.split(sep).join('/');
      return this.roots.length > 1 ? `${r.name}/${posix}` : posix;
    }
    return undefined;
  }

  /** Where a key's file lives on disk (undefined for documents that exist only in the editor). */
  fsPathOfKey(key: string): string | undefined {
    if (SCHEME.test(key)) return fsPathOfUri(key);
    const { root, rel } = this.split(key) ?? {};
    return root && rel !== undefined ? join(root.fsPath, ...rel.split('/')) : undefined;
  }

  uriOfKey(key: string): string {
    if (SCHEME.test(key)) return key;
    const p = this.fsPathOfKey(key);
    return p ? uriOfFsPath(p) : key;
  }

  rootOfKey(key: string): Root | undefined {
    return this.split(key)?.root;
  }

  /** The key of a path relative to a root, as the indexer of that root reports it. */
  keyIn(root: Root, rel: string): string {
    return this.roots.length > 1 ? `${root.name}/${rel}` : rel;
  }

  /** The file exists and its real path (links resolved) is inside a workspace folder: it may be read. */
  mayRead(fsPath: string): boolean {
    let real: string;
    try {
      real = realpathSync(fsPath);
    } catch {
      return false;
    }
    return this.realRoots.some(
      (r) => r !== undefined && (real === r || real.startsWith(r.endsWith(sep) ? r : r + sep)),
    );
  }

  private split(key: string): { root: Root; rel: string } | undefined {
    if (!this.roots.length || SCHEME.test(key)) return undefined;
    if (this.roots.length === 1) return { root: this.roots[0], rel: key };
    const slash = key.indexOf('/');
    const root = this.roots.find((r) => r.name === key.slice(0, slash));
    return root ? { root, rel: key.slice(slash + 1) } : undefined;
  }
}
