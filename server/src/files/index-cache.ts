// The CLI's index cache on disk: one JSON file of facts per (lockpath version, model, path, content), so a second
// run over an unchanged tree skips parsing and indexing. Best effort: a cache that cannot be read or written is
// simply not used. Every build has its own folder; when one is first written, all but the most recently written
// few of the other builds' folders are removed, so upgrades do not pile up old facts.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { FileFacts } from '../analysis/index/facts';
import type { IndexCache } from '../analysis/workspace';

/** The cache folder for this exact build: a rebuilt lockpath (whatever its version says) never reads old facts. */
export function defaultCacheDir(version: string): string {
  let build = 'unknown';
  try {
    build = createHash('sha1').update(readFileSync(__filename)).digest('hex').slice(0, 12);
  } catch {
    // running unbundled: the version alone
  }
  return join(process.env.LOCKPATH_CACHE ?? join(homedir(), '.cache', 'lockpath'), `index-${version}-${build}`);
}

/** Other builds' folders kept beside the current one (the most recently written): a few lockpaths in use at once. */
export const KEPT_OTHER_BUILDS = 3;

/** Removes all but the KEPT_OTHER_BUILDS most recently written `index-*` folders beside `dir` (never `dir`). */
export function pruneOtherBuilds(dir: string): void {
  const parent = dirname(dir);
  const others = readdirSync(parent, { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name.startsWith('index-') && e.name !== basename(dir))
    .map((e) => ({ path: join(parent, e.name), written: statSync(join(parent, e.name)).mtimeMs }))
    .sort((a, b) => b.written - a.written);
  for (const old of others.slice(KEPT_OTHER_BUILDS)) rmSync(old.path, { recursive: true, force: true });
}

export class DiskIndexCache implements IndexCache {
  hits = 0;
  misses = 0;
  private ready = false;

  constructor(private readonly dir: string) {}

  private fileFor(key: string): string {
    return join(this.dir, `${createHash('sha1').update(key).digest('hex')}.json`);
  }

  get(key: string): FileFacts | undefined {
    try {
      const entry = JSON.parse(readFileSync(this.fileFor(key), 'utf8')) as { key: string; facts: FileFacts };
      if (entry.key === key) {
        this.hits++;
        return entry.facts;
      }
    } catch {
      // not cached yet, or unreadable: index afresh
    }
    this.misses++;
    return undefined;
  }

  put(key: string, facts: FileFacts): void {
    try {
      if (!this.ready) {
        mkdirSync(this.dir, { recursive: true });
        this.ready = true;
        try {
          pruneOtherBuilds(this.dir);
        } catch {
          // another lockpath pruning at the same time, or a folder we may not remove: leave it
        }
      }
      const file = this.fileFor(key);
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify({ key, facts }));
      renameSync(tmp, file);
    } catch {
      // a read-only home or a full disk: run without the cache
    }
  }
}
