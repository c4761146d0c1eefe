// Limited mode, for a workspace the user has not trusted (VS Code's Restricted Mode; the client says so with
// initializationOptions.trusted = false). A kernel tree cloned from somewhere can carry a .lockpath.json and
// workspace settings that decide what lockpath reads; until the user trusts it, none of that is honoured:
// only the C files the user opens are analysed, with the built-in model, the folder is not indexed, and
// nothing is written (the server never writes; the CLI's index cache is not used here).
import type { InitializationOptions } from './protocol';
import { defaultSettings, type Settings } from './settings';

export const LIMITED_NOTE =
  'lockpath: limited mode (the workspace is not trusted): only the C files you open are analysed, with the built-in model; ' +
  'the folder is not indexed and its model file and lockpath.index/modelFile settings are not used. Trust the workspace for the full analysis.';

/** Other editors send no `trusted`: they are trusted, as before. */
export function isLimited(init: InitializationOptions): boolean {
  return init.trusted === false;
}

/** The settings in force in limited mode: nothing indexed, the default model file name (never read), and no
 *  file larger than the default limit. Display settings and assumptions stay the user's. */
export function limitSettings(s: Settings): Settings {
  return {
    ...s,
    modelFile: defaultSettings.modelFile,
    index: { include: [], exclude: [] },
    maxFileSize: Math.min(s.maxFileSize, defaultSettings.maxFileSize),
  };
}
