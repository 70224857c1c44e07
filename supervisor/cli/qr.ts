import qrcode from 'qrcode-generator';

/**
 * A QR code for a terminal, two modules per character cell (▀ ▄ █), light
 * modules drawn as blocks so it scans on the usual dark background, with a
 * quiet zone of two modules all round.
 */
export function terminalQr(text: string): string {
  const qr = qrcode(0, 'L');
  qr.addData(text);
  qr.make();
  const n = qr.getModuleCount();
  const quiet = 2;
  const light = (r: number, c: number): boolean => r < 0 || c < 0 || r >= n || c >= n || !qr.isDark(r, c);
  const lines: string[] = [];
  for (let r = -quiet; r < n + quiet; r += 2) {
    let line = '';
    for (let c = -quiet; c < n + quiet; c++) {
      const top = light(r, c);
      const bottom = r + 1 < n + quiet ? light(r + 1, c) : false;
      line += top && bottom ? '█' : top ? '▀' : bottom ? '▄' : ' ';
    }
    lines.push(line);
  }
  return lines.join('\n');
}
