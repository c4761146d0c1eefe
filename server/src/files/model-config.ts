// What the analysis runs with, from a model file (.lockpath.json) and assumption overrides given outside it (the
// command line, the editor's settings). The CLI and the language server both call this, so a file means the same
// in both. Pure apart from reading the file it is given; never throws: a loader that fails on some input (a file
// nested too deep for its recursion, say) becomes an error on the file, and the built-in model stays in force.
import { readFileSync } from 'node:fs';
import type { Problem } from '../analysis/index/facts';
import { builtinModels } from '../analysis/model/builtin';
import { applyModelFile, loadModelFile, type ModelFile } from '../analysis/model/loader';
import type { Model } from '../analysis/model/types';

export interface ModelInput {
  /** The model file. `name` is what its problems and the model are named by (`source`, when given, names an
   *  overlay); its text is read from `fsPath` unless `text` is given (the editor's unsaved text). */
  file?: { name: string; source?: string; text?: string; fsPath?: string };
  /** Assumption overrides (id -> enabled) from outside the file. */
  assumptions?: Record<string, boolean>;
  /** Names the overrides when no model file carries them ("command line"). */
  assumptionsSource: string;
}

export interface ResolvedModel {
  /** A fixed model (a usable file with an explicit base), or none. */
  model?: Model;
  /** A usable file with base "auto" (or overrides alone): applied on top of the model chosen for the tree. */
  overlay?: { file: ModelFile; source: string };
  /** Index globs the usable file adds to the caller's. */
  index: { include: string[]; exclude: string[] };
  /** The file's problems, named by `file.name`. Any error means the file was not used. */
  problems: Problem[];
  /** Why the file could not be read (it was not used). */
  unreadable?: string;
  /** Overrides naming no assumption of the model (left out), and the ids it does know. */
  unknownAssumptions: string[];
  knownAssumptions: string[];
  /** Finding ids the model file lists as reviewed, with their reasons. */
  reviewed?: { id: string; reason: string }[];
}

export function resolveModel(input: ModelInput): ResolvedModel {
  const { problems, file, auto, model: loadedModel, unreadable } = load(input.file);
  const usable = !problems.some((p) => p.severity === 'error');
  let model = usable && !auto ? loadedModel : undefined;
  let overlay = usable && auto && file ? { file, source: input.file?.source ?? input.file!.name } : undefined;
  const overrides = input.assumptions ?? {};
  const knownAssumptions = (model ?? builtinModels[0]).assumptions.map((a) => a.id);
  const unknownAssumptions = Object.keys(overrides).filter((id) => !knownAssumptions.includes(id));
  const assumptions = Object.fromEntries(Object.entries(overrides).filter(([id]) => knownAssumptions.includes(id)));
  if (Object.keys(assumptions).length) {
    if (model) model = applyModelFile(model, { assumptions }, model.source);
    else
      overlay = {
        file: { ...overlay?.file, assumptions: { ...overlay?.file.assumptions, ...assumptions } },
        source: overlay?.source ?? input.assumptionsSource,
      };
  }
  const index = usable ? file?.index : undefined;
  return {
    ...(model ? { model } : {}),
    ...(overlay ? { overlay } : {}),
    index: { include: index?.include ?? [], exclude: index?.exclude ?? [] },
    problems,
    ...(unreadable ? { unreadable } : {}),
    unknownAssumptions,
    knownAssumptions,
    ...(usable && file?.reviewed ? { reviewed: file.reviewed } : {}),
  };
}

interface Loaded {
  problems: Problem[];
  file?: ModelFile;
  model?: Model;
  auto: boolean;
  unreadable?: string;
}

function load(input: ModelInput['file']): Loaded {
  if (!input) return { problems: [], auto: true };
  let text = input.text;
  if (text === undefined) {
    if (!input.fsPath) return { problems: [], auto: true, unreadable: 'no path given' };
    try {
      text = readFileSync(input.fsPath, 'utf8');
    } catch (e) {
      return { problems: [], auto: true, unreadable: (e as Error).message };
    }
  }
  try {
    return loadModelFile(input.name, text);
  } catch (e) {
    // The loader promises not to throw; this keeps a bug or an input it did not foresee from taking the caller down.
    const why = e instanceof RangeError ? `${e.message}: nested too deeply?` : ((e as Error).message ?? String(e));
    return {
      problems: [
        {
          file: input.name,
          at: { line: 0, column: 0, endLine: 0, endColumn: 1 },
          severity: 'error',
          message: `lockpath model file: cannot be read (${why})`,
        },
      ],
      auto: true,
    };
  }
}
