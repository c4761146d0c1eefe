// The analysis library's public face: text in; index, chains, simulation and findings out. No LSP, no terminal.
export { loadParser, applyChange, offsetAt, type CParser, type TextChange } from './parse/parser';
export { Workspace, isSkipNote, type Analysis, type ChainResult, type WorkspaceOptions } from './workspace';
export { builtinModels, kvmArm64Pgt, kvmArmV4 } from './model/builtin';
export type { Model } from './model/types';
export { loadModelFile, applyModelFile, type LoadedModel, type ModelFile } from './model/loader';
export type { Finding, WitnessStep } from './findings/findings';
export type { FindingClass } from './findings/classify';
export type { Chain, Hop } from './chains/chains';
export type { FileFacts, FunctionFacts, Span, Problem } from './index/facts';
