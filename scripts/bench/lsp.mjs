// Incremental latency through the real language server over stdio: initialize with a folder as the workspace,
// didOpen one file, then N didChange edits (benchEdit: a comment line inserted, or rewritten, inside a function body;
// every text new), each timed from the didChange to the textDocument/publishDiagnostics for that version. Prints one JSON line;
// {"unavailable": reason} when the server is not built or does not answer.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { benchEdit, dist, percentile, root } from './common.mjs';

const job = JSON.parse(process.argv[2]);
const require = createRequire(join(root, 'package.json'));
const out = (o) => {
  console.log(JSON.stringify(o));
  process.exitCode = 0;
};

const serverJs = join(dist, 'server', 'server.js');
if (!existsSync(serverJs)) {
  out({ unavailable: `${serverJs} is not built` });
  process.exit(0);
}
let rpc;
try {
  rpc = require('vscode-jsonrpc/node');
} catch (e) {
  out({ unavailable: `vscode-jsonrpc/node: ${e.message}` });
  process.exit(0);
}

const proc = spawn(process.execPath, [...(process.env.LOCKPATH_BENCH_SERVER_ARGS ?? '').split(' ').filter(Boolean), serverJs, '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'], cwd: root });
let stderr = '';
proc.stderr.on('data', (d) => (stderr += d));
let exited;
proc.on('exit', (code, signal) => (exited = `server exited (${signal ?? code})`));
const conn = rpc.createMessageConnection(new rpc.StreamMessageReader(proc.stdout), new rpc.StreamMessageWriter(proc.stdin));
conn.onError(() => {});

// What a client answers when the server asks.
conn.onRequest('workspace/configuration', (p) => p.items.map(() => null));
conn.onRequest('window/workDoneProgress/create', () => null);
conn.onRequest('client/registerCapability', () => null);
conn.onRequest('client/unregisterCapability', () => null);
conn.onRequest('workspace/codeLens/refresh', () => null);
conn.onRequest('workspace/inlayHint/refresh', () => null);
conn.onRequest('workspace/semanticTokens/refresh', () => null);
conn.onNotification(() => {});

const uri = pathToFileURL(join(job.dir, job.file)).href;
let waiting;
conn.onNotification('textDocument/publishDiagnostics', (p) => {
  if (p.uri !== uri || !waiting || p.version !== waiting.version) return;
  const w = waiting;
  waiting = undefined;
  w.resolve(performance.now());
});
conn.listen();

const withTimeout = (promise, ms, what) =>
  Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error(`no ${what} within ${ms / 1000} s${exited ? ` (${exited})` : ''}`)), ms))]);
const diagnosticsFor = (version) => new Promise((resolve) => (waiting = { version, resolve }));

const finish = async (result) => {
  try {
    await withTimeout(conn.sendRequest('shutdown'), 2000, 'shutdown reply');
    conn.sendNotification('exit');
  } catch {
    // already gone, or not answering: killed below
  }
  await new Promise((r) => setTimeout(r, 200));
  conn.dispose();
  if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  out(result);
  process.exit(0);
};

try {
  const folder = pathToFileURL(job.dir).href;
  const t0 = performance.now();
  await withTimeout(
    conn.sendRequest('initialize', {
      processId: process.pid,
      rootUri: folder,
      workspaceFolders: [{ uri: folder, name: 'bench' }],
      capabilities: {
        workspace: { configuration: true, workspaceFolders: true },
        window: { workDoneProgress: true },
        textDocument: { publishDiagnostics: { versionSupport: true, relatedInformation: true }, synchronization: { dynamicRegistration: false } },
      },
    }),
    job.timeoutMs,
    'initialize reply',
  );
  conn.sendNotification('initialized', {});
  let text = readFileSync(join(job.dir, job.file), 'utf8');
  const line = text.split('\n').findIndex((l) => l.includes(job.anchor));
  if (line < 0) throw new Error(`anchor "${job.anchor}" not in ${job.file}`);
  let version = 1;
  const first = diagnosticsFor(version);
  conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'c', version, text } });
  const firstAt = await withTimeout(first, job.timeoutMs, 'diagnostics after didOpen');
  const openToDiagnosticsMs = firstAt - t0;

  const ms = [];
  for (let i = 0; i < job.edits; i++) {
    version++;
    const { start, end, text: inserted } = benchEdit(i, line);
    const change = { range: { start, end }, text: inserted };
    const ready = diagnosticsFor(version);
    const t = performance.now();
    conn.sendNotification('textDocument/didChange', { textDocument: { uri, version }, contentChanges: [change] });
    const at = await withTimeout(ready, job.editTimeoutMs, `diagnostics for version ${version}`);
    ms.push(at - t);
  }
  text = undefined;
  await finish({ edits: ms.length, p50: percentile(ms, 50), p99: percentile(ms, 99), min: Math.min(...ms), max: Math.max(...ms), openToDiagnosticsMs, all: ms.map((x) => Math.round(x * 10) / 10) });
} catch (e) {
  await finish({ unavailable: `${e.message}${stderr ? `; server stderr: ${stderr.trim().split('\n').slice(-2).join(' | ').slice(0, 200)}` : ''}` });
}
