// The page of the editor's race-timeline view: the witness SVG, themed by VS Code's CSS variables, under a strict
// Content-Security-Policy. Its only script (nonce'd) turns a click on a step into a message, so the editor can
// open that line. The drawing is scaled down to the panel's width. Pure text in, text out: the client hands it to a webview, the tests to a browser.
export interface WebviewPage {
  title: string;
  svg: string;
  /** The webview's own source for styles (webview.cspSource). */
  cspSource: string;
  nonce: string;
}

const escape = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function timelineWebviewHtml(page: WebviewPage): string {
  const csp = [
    `default-src 'none'`,
    `style-src ${page.cspSource} 'unsafe-inline'`,
    `img-src data:`,
    `script-src 'nonce-${page.nonce}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escape(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(page.title)}</title>
<style>
  body { background: var(--vscode-editor-background, #fff); color: var(--vscode-editor-foreground, #222); font-family: var(--vscode-font-family, sans-serif); margin: 12px; }
  h1 { font-size: 1.1em; font-weight: 600; }
  [data-file] { cursor: pointer; }
  /* Scaled to the panel: never wider than it (the lanes of a long witness used to run off the right edge), never
     larger than drawn; the viewBox keeps the proportions. */
  svg.lp-timeline { display: block; max-width: 100%; height: auto; }
</style>
</head>
<body>
<h1>${escape(page.title)}</h1>
${page.svg}
<script nonce="${escape(page.nonce)}">
  const vscode = acquireVsCodeApi();
  document.addEventListener('click', (event) => {
    const step = event.target.closest('[data-file]');
    if (!step) return;
    event.preventDefault();
    vscode.postMessage({ file: step.dataset.file, line: Number(step.dataset.line), column: Number(step.dataset.column) });
  });
</script>
</body>
</html>
`;
}
