// The "lockpath: Races" tree in the Explorer: each finding by name, under it the chain's hops in call order, then
// the witness one lane per thread with its steps in time order. Every row opens its place. Filled from the
// server's lockpath/findings answer; refreshed whenever an analysis settles.
import * as vscode from 'vscode';
import type { FindingsResult, PlaceJson } from '../../server/src/lsp/protocol';

type Finding = FindingsResult['findings'][number];
type Lane = Finding['lanes'][number];

export type Node =
  | { kind: 'finding'; finding: Finding }
  | { kind: 'hop'; finding: Finding; index: number }
  | { kind: 'lane'; finding: Finding; lane: Lane }
  | { kind: 'step'; step: Lane['steps'][number] };

export const OPEN_PLACE = 'lockpath.openPlace';

export class FindingsTree implements vscode.TreeDataProvider<Node> {
  private result: FindingsResult = { summary: '', findings: [] };
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(
    private readonly toUri: (uri: string) => vscode.Uri,
    private readonly toRange: (r: PlaceJson['range']) => vscode.Range,
  ) {}

  get summary(): string {
    return this.result.summary;
  }

  update(result: FindingsResult): void {
    this.result = result;
    this.changed.fire(undefined);
  }

  getChildren(node?: Node): Node[] {
    if (!node) return this.result.findings.map((finding) => ({ kind: 'finding', finding }));
    if (node.kind === 'finding') {
      return [
        ...node.finding.hops.map((_, index): Node => ({ kind: 'hop', finding: node.finding, index })),
        ...node.finding.lanes.map((lane): Node => ({ kind: 'lane', finding: node.finding, lane })),
      ];
    }
    if (node.kind === 'lane') return node.lane.steps.map((step): Node => ({ kind: 'step', step }));
    return [];
  }

  getTreeItem(node: Node): vscode.TreeItem {
    switch (node.kind) {
      case 'finding': {
        const f = node.finding;
        const item = new vscode.TreeItem(f.name, vscode.TreeItemCollapsibleState.Collapsed);
        item.description = f.hazard;
        item.tooltip = new vscode.MarkdownString(`**${f.hazard}**\n\n${f.title} (in ${f.function})`);
        item.iconPath = new vscode.ThemeIcon(f.severity === 'error' ? 'error' : 'warning');
        item.contextValue = 'lockpath.finding';
        item.id = f.id;
        item.command = this.open(f.place, 'Open the race');
        return item;
      }
      case 'hop': {
        const hop = node.finding.hops[node.index];
        const item = new vscode.TreeItem(`${node.index + 1}. ${hop.label}`, vscode.TreeItemCollapsibleState.None);
        item.description = hop.locks.length ? `holding ${hop.locks.join(', ')}` : 'no lock held';
        item.iconPath = new vscode.ThemeIcon(node.index === 0 ? 'debug-start' : 'arrow-small-right');
        item.id = `${node.finding.id}/hop/${node.index}`;
        item.command = this.open(hop.place, 'Open the call');
        return item;
      }
      case 'lane': {
        const item = new vscode.TreeItem(`witness: ${node.lane.thread}`, vscode.TreeItemCollapsibleState.Collapsed);
        item.description = `${node.lane.steps.length} step${node.lane.steps.length === 1 ? '' : 's'}`;
        item.iconPath = new vscode.ThemeIcon('debug-alt');
        item.id = `${node.finding.id}/lane/${node.lane.thread}`;
        return item;
      }
      case 'step': {
        const s = node.step;
        const item = new vscode.TreeItem(`${s.step}. ${s.action}`, vscode.TreeItemCollapsibleState.None);
        if (s.hazard) item.iconPath = new vscode.ThemeIcon('warning');
        item.command = this.open(s.place, 'Open the step');
        return item;
      }
    }
  }

  private open(place: PlaceJson, title: string): vscode.Command {
    return { title, command: OPEN_PLACE, arguments: [this.toUri(place.uri), this.toRange(place.range)] };
  }
}
