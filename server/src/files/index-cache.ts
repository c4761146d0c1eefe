// The CLI's caches on disk: one JSON file of facts per (lockpath version, model, path, content), so a second run over
// an unchanged tree skips parsing and indexing, and one per exploration (by program structure), so it skips the
// interleaving search for programs it has explored before. Best effort: a cache that cannot be read or written is
// simply not used. Every build has its own folder; when one is first written, all but the most recently written
// few of the other builds' folders are removed, so upgrades do not pile up old facts. Only folders holding lockpath's
// own marker file are ever removed: $LOCKPATH_CACHE may point at a folder that holds the user's things too.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { FileFacts } from '../analysis/index/facts';
import type { ExploreResult } from '../analysis/simulate/explore';
import type { ExploreStore } from '../analysis/simulate/simulate';
import type { IndexCache } from '../analysis/workspace';

/** The cache folder for this exact build: a rebuilt lockpath (whatever its version says) never reads old facts. */
export function defaultCacheDir(version: string): string {
  let build = 'unknown';
  try {
    build = createHash('sha1').update(readFileSync(__filename)).digest('hex').slice(0, 12);
  } catch {
    // running unbundled: the version alone
  }
  // Set but empty (LOCKPATH_CACHE= in a CI file) means the default, not the current folder.
  return join(process.env.LOCKPATH_CACHE || join(homedir(), '.cache', 'lockpath'), `index-${version}-${build}`);
}

/** Written into every build folder lockpath creates: only folders holding it are ever pruned. */
export const CACHE_MARKER = 'lockpath-cache-folder';

function markAsOurs(dir: string): void {
  writeFileSync(join(dir, CACHE_MARKER), 'lockpath cache folder: lockpath removes it when a newer build takes over\n');
}

const isOurs = (dir: string): boolean => {
  try {
    return readFileSync(join(dir, CACHE_MARKER), 'utf8').startsWith('lockpath');
  } catch {
    return false;
  }
};

/** Other builds' folders kept beside the current one (the most recently written): a few lockpaths in use at once. */
export const KEPT_OTHER_BUILDS = 3;

/** Marks `dir` as lockpath's, then removes all but the KEPT_OTHER_BUILDS most recently written other build folders
 *  beside it: `index-*` folders holding the marker (never `dir`, never a folder lockpath did not create). */
export function pruneOtherBuilds(dir: string): void {
  markAsOurs(dir);
  const parent = dirname(dir);
  const others = readdirSync(parent, { withFileTypes: true })
    .filter(
      (e) => e.isDirectory() && e.name.startsWith('index-') && e.name !== basename(dir) && isOurs(join(parent, e.name)),
    )
    .map((e) => ({ path: join(parent, e.name), written: statSync(join(parent, e.name)).mtimeMs }))
    .sort((a, b) => b.written - a.written);
  for (const old of others.slice(KEPT_OTHER_BUILDS)) rmSync(old.path, { recursive: true, force: true });
}

/**
 * One JSON file per key (named by the key's hash, holding the key itself), written atomically. Best effort: an entry
 * that cannot be read, belongs to another key or fails `accepts` is a miss; one that cannot be written is skipped.
 */
export class DiskStore<T> {
  hits = 0;
  misses = 0;
  private ready = false;

  constructor(
    private readonly dir: string,
    private readonly accepts: (value: unknown) => boolean = () => true,
    private readonly onFirstWrite: () => void = () => {},
  ) {}

  private fileFor(key: string): string {
    return join(this.dir, `${createHash('sha1').update(key).digest('hex')}.json`);
  }

  get(key: string): T | undefined {
    try {
      const entry = JSON.parse(readFileSync(this.fileFor(key), 'utf8')) as { key: string; value: unknown };
      if (entry.key === key && this.accepts(entry.value)) {
        this.hits++;
        return entry.value as T;
      }
    } catch {
      // not cached yet, or unreadable: compute afresh
    }
    this.misses++;
    return undefined;
  }

  put(key: string, value: T): void {
    try {
      if (!this.ready) {
        mkdirSync(this.dir, { recursive: true });
        this.ready = true;
        try {
          this.onFirstWrite();
        } catch {
          // another lockpath pruning at the same time, or a folder we may not remove: leave it
        }
      }
      const file = this.fileFor(key);
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify({ key, value }));
      renameSync(tmp, file);
    } catch {
      // a read-only home or a full disk: run without the cache
    }
  }
}

/** File facts, in the build's folder (the first write prunes other builds' folders). */
export class DiskIndexCache extends DiskStore<FileFacts> implements IndexCache {
  constructor(dir: string) {
    super(
      dir,
      (v) => typeof v === 'object' && v !== null && Array.isArray((v as FileFacts).functions),
      () => pruneOtherBuilds(dir),
    );
  }
}

/** Explorations, in the build folder's `explore/`, keyed by program structure (see ExploreCache). */
export class DiskExploreStore extends DiskStore<ExploreResult> implements ExploreStore {
  constructor(dir: string) {
    super(join(dir, 'explore'), isExploreResult, () => markAsOurs(dir));
  }
}

function isExploreResult(v: unknown): boolean {
  const r = v as ExploreResult;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof r.states === 'number' &&
    typeof r.complete === 'boolean' &&
    Array.isArray(r.hazards) &&
    r.hazards.every((h) => Array.isArray(h?.witness)) &&
    Array.isArray(r.guardsSawNull) &&
    Array.isArray(r.guardsSawTables)
  );
}
