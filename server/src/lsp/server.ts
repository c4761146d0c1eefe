import type { Connection } from 'vscode-languageserver/node';
export function startServer(connection: Connection): void {
  connection.listen();
}
