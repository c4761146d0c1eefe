// The `lockpath.*` settings as the server uses them, with defaults and a tolerant reader (clients send anything).
import { KERNEL_EXCLUDES, KERNEL_GLOBS } from '../files/scope';

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access --
   the client's settings are untyped JSON, read field by field behind typeof checks */

export interface Settings {
  /** The model file, relative to the (first) workspace folder. */
  modelFile: string;
  index: { include: string[]; exclude: string[] };
  /** Assumption overrides: id -> enabled. */
  assumptions: Record<string, boolean>;
  inlayHints: { enabled: boolean };
  showParseProblems: boolean;
  /** Files larger than this (bytes) are not analysed. */
  maxFileSize: number;
}

// The same KVM folders the CLI reads in a kernel tree (EL2 hyp/ code left out): see files/scope.ts.
export const DEFAULT_INCLUDE = KERNEL_GLOBS;

export const defaultSettings: Settings = {
  modelFile: '.lockpath.json',
  index: { include: DEFAULT_INCLUDE, exclude: KERNEL_EXCLUDES },
  assumptions: {},
  inlayHints: { enabled: true },
  showParseProblems: false,
  maxFileSize: 4 * 1024 * 1024,
};

const strings = (v: unknown): string[] | undefined =>
  Array.isArray(v) && v.every((x) => typeof x === 'string') ? [...v] : undefined;

/** Reads whatever the client sent for the `lockpath` section; anything malformed falls back to its default. */
export function readSettings(raw: unknown): Settings {
  const r = (raw && typeof raw === 'object' ? raw : {}) as Record<string, any>;
  const index = (r.index && typeof r.index === 'object' ? r.index : {}) as Record<string, unknown>;
  const assumptions: Record<string, boolean> = {};
  // Two spellings, merged: the object `assumptions` (older settings, other editors), and one boolean a named
  // assumption, `assumption.<id>` (VS Code's checkboxes; the client sends only the ones the user set), which wins.
  for (const source of [r.assumptions, r.assumption]) {
    if (source && typeof source === 'object')
      for (const [k, v] of Object.entries(source)) if (typeof v === 'boolean') assumptions[k] = v;
  }
  for (const [k, v] of Object.entries(r))
    if (k.startsWith('assumption.') && typeof v === 'boolean') assumptions[k.slice('assumption.'.length)] = v;
  const inlay = r.inlayHints && typeof r.inlayHints === 'object' ? r.inlayHints : {};
  return {
    modelFile: typeof r.modelFile === 'string' && r.modelFile.trim() ? r.modelFile.trim() : defaultSettings.modelFile,
    index: {
      include: strings(index.include ?? r['index.include']) ?? defaultSettings.index.include,
      exclude: strings(index.exclude ?? r['index.exclude']) ?? defaultSettings.index.exclude,
    },
    assumptions,
    inlayHints: {
      enabled:
        typeof inlay.enabled === 'boolean'
          ? inlay.enabled
          : typeof r['inlayHints.enabled'] === 'boolean'
            ? r['inlayHints.enabled']
            : true,
    },
    showParseProblems: typeof r.showParseProblems === 'boolean' ? r.showParseProblems : false,
    maxFileSize: typeof r.maxFileSize === 'number' && r.maxFileSize > 0 ? r.maxFileSize : defaultSettings.maxFileSize,
  };
}
