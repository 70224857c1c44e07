import { terminalQr } from './qr.ts';

/** What `cpl up --remote` prints once the tunnel is open: the URL, a QR code for a phone, and how to log in. */
export function remoteBanner(tunnelUrl: string, passwordFrom: 'flag' | 'env' | 'stored'): string {
  const how =
    passwordFrom === 'flag' ? 'the password given with --password'
    : passwordFrom === 'env' ? 'the password in CPL_PASSWORD'
    : 'the password set with `cpl password set` (scripts: an API token)';
  return [
    '',
    `Public URL (tunnel): ${tunnelUrl}`,
    '',
    terminalQr(tunnelUrl),
    '',
    `Open it on your phone and log in with ${how}. Anyone with the URL sees the login page only.`,
    '',
  ].join('\n');
}
