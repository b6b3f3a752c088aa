/**
 * Detection on a live page: which rule (if any) the page matches, and the user name to
 * prefill. Runs in the content script on every sign-in page, so it is built for speed.
 *
 * The page text comes from one `textContent` read (native, no layout, unlike innerText, and
 * several times faster than walking tens of thousands of text nodes from JavaScript). Text
 * inside script, style, noscript and textarea elements is cut out, so string tables embedded
 * in scripts (Entra ID ships every error message that way) never trigger a banner: their text
 * is a contiguous run of the body's textContent, so the visible text is the runs between them,
 * tested one by one without building a new string. Password fields are never read: an input's
 * value is not text, and the user-name field is refused when it is a password field.
 */
import { textRegExp, type DetectionRule, type Outcome } from '../lib/rules.ts';

export interface Detection {
  outcome: Outcome;
  rule: DetectionRule;
}

const HIDDEN_TEXT = 'script,style,noscript,textarea';

/** The visible text of `root`, roughly, as runs of text between scripts and styles. */
export function textRuns(root: Element): string[] {
  const text = root.textContent ?? '';
  const hidden = root.querySelectorAll(HIDDEN_TEXT);
  if (hidden.length === 0) return [text];
  const runs: string[] = [];
  let pos = 0;
  for (const el of Array.from(hidden)) {
    const inner = el.textContent;
    if (!inner) continue;
    // Nested hidden elements were already cut with their parent: indexOf finds nothing past pos.
    const at = text.indexOf(inner, pos);
    if (at < 0) continue;
    if (at > pos) runs.push(text.slice(pos, at));
    pos = at + inner.length;
  }
  if (pos < text.length) runs.push(text.slice(pos));
  return runs;
}

/** How far above a form its messages are looked for (AD FS, Entra ID, the demo: 0–1 levels). */
const FORM_REGION_LEVELS = 3;

/**
 * Where sign-in pages show their errors: in or next to the sign-in form. The regions are the
 * forms' ancestors a few levels up (never the body), found without any selector query, which
 * on a page of tens of thousands of elements costs as much as reading all its text.
 */
function formRegions(doc: Document): Element[] {
  const regions = new Set<Element>();
  for (const form of Array.from(doc.forms).slice(0, 5)) {
    let region: Element = form;
    for (let i = 0; i < FORM_REGION_LEVELS; i++) {
      const parent = region.parentElement;
      if (!parent || parent === doc.body || parent === doc.documentElement) break;
      region = parent;
    }
    regions.add(region);
  }
  // A region inside another one is read with it already.
  return [...regions].filter((r) => ![...regions].some((o) => o !== r && o.contains(r)));
}

export type Scope = 'likely' | 'full';

/**
 * The first rule (of those already matched by URL) that the page content satisfies.
 * `likely` reads only the text around sign-in forms, which is where sign-in pages show errors
 * and cheap on any page; `full` reads all visible text (the content script runs it in idle
 * time when `likely` found nothing). Rules with a selector are exact and checked in both.
 */
export function detect(rules: readonly DetectionRule[], doc: Document, scope: Scope = 'full'): Detection | undefined {
  let runs: string[] | undefined;
  const text = (): string[] => {
    if (runs) return runs;
    if (!doc.body) return (runs = []);
    if (scope === 'full') return (runs = textRuns(doc.body));
    return (runs = formRegions(doc).flatMap(textRuns));
  };
  for (const rule of rules) {
    const re = textRegExp(rule);
    if (rule.textPattern && !re) continue;
    let hit: boolean;
    if (rule.selector) {
      let found: Element[];
      try {
        found = Array.from(doc.querySelectorAll(rule.selector));
      } catch {
        continue;
      }
      hit = re ? found.some((el) => textRuns(el).some((run) => re.test(run))) : found.length > 0;
    } else if (re) {
      hit = text().some((run) => re.test(run));
    } else {
      hit = true;
    }
    if (hit) return { outcome: rule.outcome, rule };
  }
  return undefined;
}

/** The user name from the rule's userField: an input's value or an element's text. */
export function readUser(doc: ParentNode, selector: string | undefined): string | undefined {
  if (!selector) return undefined;
  let el: Element | null;
  try {
    el = doc.querySelector(selector);
  } catch {
    return undefined;
  }
  if (!el) return undefined;
  let value: string | null;
  if (el.tagName === 'INPUT') {
    const input = el as HTMLInputElement;
    // Never a password, whatever the admin's selector says.
    if (input.type.toLowerCase() === 'password') return undefined;
    value = input.value;
  } else {
    value = el.textContent;
  }
  const user = (value ?? '').replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, 256);
  return user || undefined;
}
