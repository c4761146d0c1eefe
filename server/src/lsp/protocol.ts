// lockpath's own messages on top of LSP, shared by the server and the VS Code client (plain types and method
// names only: the client bundles this file too, so it imports nothing).

/** Server -> client notification: where indexing and analysis stand, for a status bar. */
export const StatusNotification = 'lockpath/status';
export interface StatusParams {
  state: 'starting' | 'indexing' | 'analyzing' | 'idle' | 'error';
  /** Files indexed so far (indexing) or in the analysis. */
  files: number;
  /** Files to index (indexing only). */
  total?: number;
  /** Findings of the latest analysis that matches the open documents. */
  findings: number;
  /** Those findings counted and worded as Problems shows them: "1 race (3 entries)" (format.ts countRaces). */
  summary?: string;
  /** Chains in that analysis. */
  chains?: number;
  /** How long the latest analysis took, ms. */
  ms?: number;
  message?: string;
  /** Limited mode (an untrusted workspace): open files only, built-in model. */
  limited?: boolean;
}

/** A place, as LSP spells it. */
export interface PlaceJson {
  uri: string;
  range: { start: { line: number; character: number }; end: { line: number; character: number } };
}

/** Client -> server request: every stage-2 chain through a function (or all chains without a name). */
export const ChainsRequest = 'lockpath/chains';
export interface ChainsParams {
  name?: string;
}
export interface ChainsResult {
  name?: string;
  /** The function's definition, when it is indexed. */
  definition?: PlaceJson;
  chains: {
    id: string;
    context: string;
    contextLabel: string;
    via: string;
    verdict: 'race' | 'safe' | 'inconclusive';
    reason: string;
    path: string[];
    /** One place per hop: the entry's definition, then each call site. */
    locations: PlaceJson[];
    findings: string[];
  }[];
  markdown: string;
}

/** Client -> server request: a function's chains, locks, verdicts and findings, as markdown. */
export const ExplainRequest = 'lockpath/explain';
export interface ExplainParams {
  name: string;
}
export interface ExplainResult {
  name: string;
  found: boolean;
  markdown: string;
}

/** Client -> server request: one finding's witness interleaving (for the race timeline). */
export const RaceTimelineRequest = 'lockpath/raceTimeline';
export interface RaceTimelineParams {
  id: string;
}
export interface RaceTimelineResult {
  id: string;
  found: boolean;
  title: string;
  /** Two lanes side by side, time going down. */
  text: string;
  markdown: string;
  steps: {
    thread: string;
    lane: number;
    action: string;
    function: string;
    place: PlaceJson;
    locks: string[];
    hazard?: boolean;
  }[];
  /** The witness drawn as a sequence diagram (steps carry data-file/data-line), and where its files are. */
  svg: string;
  uris: Record<string, string>;
}

/** Client -> server request (no params): every finding by name, with its chain in call order and its witness per
 *  lane (the VS Code tree view and the race-timeline picker). */
export const FindingsRequest = 'lockpath/findings';
export interface FindingsResult {
  /** As the status bar says it: "1 race (3 entries)". */
  summary: string;
  findings: {
    id: string;
    /** "unguarded-notifier-path · mmu notifier kvm_age_hva (clear_young) · mmu.c:411": never a bare id. */
    name: string;
    class: string;
    title: string;
    severity: 'error' | 'warning';
    /** What goes wrong, in the diagnostic's words. */
    hazard: string;
    function: string;
    place: PlaceJson;
    /** The chain from the entry to the access, in call order. */
    hops: { label: string; place: PlaceJson; locks: string[] }[];
    /** The witness, one lane per thread, each lane's steps in time order (step: its index in the interleaving). */
    lanes: { thread: string; steps: { step: number; action: string; place: PlaceJson; hazard?: boolean }[] }[];
  }[];
}

/** Command ids the VS Code client registers; code lenses name them. */
export const Commands = {
  showChains: 'lockpath.showChains',
  explain: 'lockpath.explain',
  showRaceTimeline: 'lockpath.showRaceTimeline',
  restartServer: 'lockpath.restartServer',
} as const;

/** Options the client passes in initialize. */
export interface InitializationOptions {
  /** The client implements lockpath.showChains etc. itself: the server must not claim them for executeCommand. */
  clientCommands?: boolean;
  /** Settings, for clients without workspace/configuration. */
  settings?: unknown;
  /** false: the workspace is not trusted, run in limited mode (see lsp/limited.ts). Absent means trusted. */
  trusted?: boolean;
}
