/** The authenticator secret as a QR code (a lazily loaded chunk: uqr, no dependencies). */
import { renderSVG } from 'uqr';

/** An SVG data: URL of the QR code of `text` (the extension CSP allows data: images). */
export function qrDataUrl(text: string): string {
  const svg = renderSVG(text, { ecc: 'M', border: 2, pixelSize: 4 });
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
}
