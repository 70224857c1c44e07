/**
 * The server's one 'upgrade' listener: job terminals by path, everything else
 * to the preview proxy (which refuses what is not a preview). Each handler
 * applies the upgrade guard itself.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { previewUpgradeHandler } from './preview-upgrade.ts';
import { isTerminalPath, terminalUpgradeHandler, type TerminalUpgradeDeps } from './terminal-upgrade.ts';

export function upgradeRouter(d: TerminalUpgradeDeps) {
  const preview = previewUpgradeHandler(d);
  const terminal = terminalUpgradeHandler(d);
  return (req: IncomingMessage, socket: Duplex, head: Buffer): void => (isTerminalPath(req.url) ? terminal : preview)(req, socket, head);
}
