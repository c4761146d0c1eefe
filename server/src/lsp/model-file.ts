// The model file (.lockpath.json) as the server sees it: where it is (the lockpath.modelFile setting, under the
// first folder), its text (the editor's when open, else the disk's), its problems published on it, and the
// EngineConfig it makes with the settings. A file with errors, or one the loader cannot read at all, leaves the
// built-in model in force and its problems go on the file: the server keeps serving whatever the file holds.
import { join } from 'node:path';
import type { PublishDiagnosticsParams } from 'vscode-languageserver/node';
import { resolveModel, type ResolvedModel } from '../files/model-config';
import { problemDiagnostic } from './diagnostics';
import type { Documents } from './documents';
import type { EngineConfig } from './engine';
import { fsPathOfUri, type Paths, type Root } from './paths';
import type { Settings } from './settings';

export interface ModelFileContext {
  settings(): Settings;
  roots(): Root[];
  paths(): Paths;
  /** Limited mode: no model file at all. */
  limited(): boolean;
  send(params: PublishDiagnosticsParams): void;
  log(message: string): void;
}

export class ModelFile {
  /** The configuration the analysis runs with (undefined until the file was first read). */
  config?: EngineConfig;
  /** Where the file's diagnostics were last published, and whether any are showing there. */
  private target?: string;
  private published = false;

  constructor(
    private readonly docs: Documents,
    private readonly ctx: ModelFileContext,
  ) {}

  uri(): string | undefined {
    const root = this.ctx.roots()[0];
    if (!root || this.ctx.limited()) return undefined;
    const setting = this.ctx.settings().modelFile;
    const p = setting.startsWith('/') ? setting : join(root.fsPath, setting);
    const paths = this.ctx.paths();
    return paths.uriOfKey(paths.keyOfFsPath(p) ?? p);
  }

  isModelUri(uri: string): boolean {
    const model = this.uri();
    if (!model) return false;
    const a = fsPathOfUri(uri);
    return a !== undefined ? a === fsPathOfUri(model) : uri === model;
  }

  /** Reads the file (the editor's text when open, else the disk's), publishes its problems, and returns whether
   *  the configuration changed (then the analysis must restart). */
  load(): boolean {
    const uri = this.uri();
    const open = uri ? [...this.docs.entries()].find(([u, d]) => d.model && this.isModelUri(u)) : undefined;
    const openDoc = open?.[1];
    const fsPath = uri ? fsPathOfUri(uri) : undefined;
    const text = openDoc?.doc.getText();
    const readable = text !== undefined || (fsPath !== undefined && this.ctx.paths().mayRead(fsPath));
    // Publish under the URI the editor uses for the document when it is open.
    const target = open?.[0] ?? uri;
    let config: EngineConfig;
    let problems: ResolvedModel['problems'];
    try {
      const resolved = this.resolve(
        uri && readable ? { name: this.ctx.settings().modelFile, text, fsPath } : undefined,
      );
      config = this.configOf(resolved);
      problems = resolved.problems;
    } catch (e) {
      // resolveModel does not throw; this is the last line that keeps a model file from taking the server down.
      problems = [
        {
          file: this.ctx.settings().modelFile,
          at: { line: 0, column: 0, endLine: 0, endColumn: 1 },
          severity: 'error',
          message: `lockpath model file: cannot be used (${(e as Error).message})`,
        },
      ];
      config = this.defaultConfig();
    }
    if (this.target && this.target !== target) this.clearDiagnostics();
    this.target = target;
    if (target && (problems.length || this.published)) {
      this.ctx.send({ uri: target, version: openDoc?.doc.version, diagnostics: problems.map(problemDiagnostic) });
      this.published = problems.length > 0;
    }
    let changed: boolean;
    try {
      changed = JSON.stringify(config) !== JSON.stringify(this.config);
    } catch {
      changed = true;
    }
    this.config = config;
    return changed;
  }

  clearDiagnostics(): void {
    if (this.target && this.published) this.ctx.send({ uri: this.target, diagnostics: [] });
    this.published = false;
  }

  /** The configuration without a model file: the built-in model with the settings' assumptions. */
  defaultConfig(): EngineConfig {
    return this.configOf(this.resolve(undefined));
  }

  private resolve(file: { name: string; text?: string; fsPath?: string } | undefined): ResolvedModel {
    const resolved = resolveModel({
      file,
      assumptions: this.ctx.settings().assumptions,
      assumptionsSource: 'settings (lockpath.assumptions)',
    });
    if (resolved.unknownAssumptions.length) {
      this.ctx.log(
        `lockpath: lockpath.assumptions names unknown assumptions: ${resolved.unknownAssumptions.join(', ')} (known: ${resolved.knownAssumptions.join(', ')})`,
      );
    }
    return resolved;
  }

  private configOf(r: ResolvedModel): EngineConfig {
    const settings = this.ctx.settings();
    return {
      include: [...settings.index.include, ...r.index.include],
      exclude: [...settings.index.exclude, ...r.index.exclude],
      maxFileBytes: settings.maxFileSize,
      ...(r.model ? { model: r.model } : {}),
      ...(r.overlay ? { overlay: r.overlay } : {}),
    };
  }
}
