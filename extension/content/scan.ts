/**
 * Detection on a live page: which rule (if any) the page matches, and the user name to
 * prefill. Runs in the content script on every sign-in page, so it is built for speed: the
 * page text is collected once per scan with a TreeWalker over text nodes (no layout, unlike
 * innerText) and shared by every text rule; script, style and noscript text is left out so
 * that string tables embedded in scripts never trigger a banner. Password fields are never
 * read: the user-name field is refused when it is one.
 */
import { textRegExp, type DetectionRule, type Outcome } from '../lib/rules.ts';

export interface Detection {
  outcome: Outcome;
  rule: DetectionRule;
}

const HIDDEN_TEXT = new Set(['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEXTAREA']);

/** The text of `root` as a person could see it, roughly: text nodes outside scripts and styles. */
export function pageText(root: Node): string {
  const doc = root.ownerDocument ?? (root as Document);
  const walker = doc.createTreeWalker(root, 4 /* NodeFilter.SHOW_TEXT */);
  const parts: string[] = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!HIDDEN_TEXT.has(node.parentNode?.nodeName ?? '')) parts.push((node as Text).data);
  }
  return parts.join(' ');
}

/** The first rule (of those already matched by URL) that the page content satisfies. */
export function detect(rules: readonly DetectionRule[], doc: Document): Detection | undefined {
  let text: string | undefined;
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
      hit = re ? found.some((el) => re.test(pageText(el))) : found.length > 0;
    } else if (re) {
      text ??= doc.body ? pageText(doc.body) : '';
      hit = re.test(text);
    } else {
      hit = true;
    }
    if (hit) return { outcome: rule.outcome, rule };
  }
  return undefined;
}

/** The user name from the rule's userField: an input's value or an element's text. */
export function readUser(doc: Document, selector: string | undefined): string | undefined {
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
