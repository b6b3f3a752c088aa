/**
 * The banner: a small card in a shadow root (so the page's styles neither break it nor read
 * it through the cascade), with one button that opens the reset page and one that dismisses
 * it. Only trusted clicks count, so a page cannot open the reset page by scripting the button.
 */
import type { Outcome } from '../lib/rules.ts';

export interface BannerText {
  message: string;
  action: string;
  dismiss: string;
  label: string;
}

const CSS = `
:host{all:initial}
.card{position:fixed;top:16px;right:16px;z-index:2147483647;max-width:440px;display:flex;gap:10px;align-items:center;
padding:12px 14px;border-radius:8px;background:#fff;color:#1b1f24;border:1px solid #c7ccd1;border-left:4px solid #0b5cad;
box-shadow:0 4px 16px rgba(0,0,0,.18);font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
.msg{flex:1 1 auto;margin:0;font-weight:600}
.act,.x{flex:none}
button{font:inherit;cursor:pointer;border-radius:6px}
.act{background:#0b5cad;color:#fff;border:1px solid #0b5cad;padding:6px 12px;font-weight:600}
.x{background:none;border:1px solid transparent;color:#444;padding:2px 8px;font-size:18px;line-height:1}
button:focus-visible{outline:3px solid #f5a623;outline-offset:2px}
`;

export function showBanner(outcome: Outcome | 'register', text: BannerText, onAct: () => void): () => void {
  const host = document.createElement('unlatch-banner');
  host.setAttribute('data-outcome', outcome);
  const root = host.attachShadow({ mode: 'open' });
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    root.adoptedStyleSheets = [sheet];
  } catch {
    // Older engines or an Xray-wrapped sheet: a <style> element does the same.
    const style = document.createElement('style');
    style.textContent = CSS;
    root.append(style);
  }
  const card = document.createElement('div');
  card.className = 'card';
  card.setAttribute('role', 'region');
  card.setAttribute('aria-label', text.label);
  const msg = document.createElement('p');
  msg.className = 'msg';
  msg.setAttribute('role', 'status');
  msg.textContent = text.message;
  const act = document.createElement('button');
  act.className = 'act';
  act.type = 'button';
  act.textContent = text.action;
  const x = document.createElement('button');
  x.className = 'x';
  x.type = 'button';
  x.textContent = '×';
  x.setAttribute('aria-label', text.dismiss);
  card.append(msg, act, x);
  root.append(card);
  const remove = () => host.remove();
  act.addEventListener('click', (ev) => {
    if (ev.isTrusted) onAct();
  });
  x.addEventListener('click', (ev) => {
    if (ev.isTrusted) remove();
  });
  document.documentElement.append(host);
  return remove;
}
