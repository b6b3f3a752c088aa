/**
 * Detection rules: which sign-in pages say "password expired", "must change password" or
 * "account locked". Pure data and string logic only: the content script bundles this file, so
 * it must stay tiny and free of DOM or extension APIs (the DOM half is content/scan.ts).
 */

export const OUTCOMES = ['expired', 'must_change', 'locked'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export interface DetectionRule {
  /** Glob over the whole URL without its fragment; `*` matches any run of characters. */
  urlPattern: string;
  /** Case-insensitive regular expression the visible text must contain. */
  textPattern?: string;
  /** CSS selector that must match; with textPattern, only text inside the matches counts. */
  selector?: string;
  outcome: Outcome;
  /** CSS selector of the user-name input (or an element showing the user name). */
  userField?: string;
}

/**
 * Whether `url` matches `glob` as a whole, case-insensitively; `*` matches any run of
 * characters, everything else is literal. Plain string search, no RegExp: it runs for every
 * rule on every page, and compiling a dozen regular expressions costs more than the matching.
 */
export function globMatch(glob: string, url: string): boolean {
  const parts = glob.toLowerCase().split('*');
  const text = url.toLowerCase();
  const first = parts[0] as string;
  if (parts.length === 1) return text === first;
  const last = parts[parts.length - 1] as string;
  if (!text.startsWith(first) || !text.endsWith(last) || text.length < first.length + last.length) return false;
  let pos = first.length;
  const end = text.length - last.length;
  for (let i = 1; i < parts.length - 1; i++) {
    const part = parts[i] as string;
    const at = text.indexOf(part, pos);
    if (at < 0 || at + part.length > end) return false;
    pos = at + part.length;
  }
  return true;
}

/** The URL as rules see it: without the fragment, which never reaches a server anyway. */
export function ruleUrl(href: string): string {
  const hash = href.indexOf('#');
  return hash < 0 ? href : href.slice(0, hash);
}

/** Rules whose urlPattern matches; an invalid pattern simply never matches. */
export function rulesForUrl(rules: readonly DetectionRule[], href: string): DetectionRule[] {
  const url = ruleUrl(href);
  // Built-in rules share URL patterns (one per product, three outcomes): test each once.
  const seen = new Map<string, boolean>();
  return rules.filter((r) => {
    let ok = seen.get(r.urlPattern);
    if (ok === undefined) {
      ok = globMatch(r.urlPattern, url);
      seen.set(r.urlPattern, ok);
    }
    return ok;
  });
}

const compiled = new Map<string, RegExp | undefined>();

/**
 * Compiles a rule's text pattern (once per pattern); undefined when it has none or it does not
 * compile. A space (outside a [class]) matches any run of white space, as words on a page are
 * separated by newlines, indentation or element boundaries as often as by one space.
 */
export function textRegExp(rule: DetectionRule): RegExp | undefined {
  if (!rule.textPattern) return undefined;
  if (compiled.has(rule.textPattern)) return compiled.get(rule.textPattern);
  const re = compileText(rule.textPattern);
  compiled.set(rule.textPattern, re);
  return re;
}

function compileText(p: string): RegExp | undefined {
  let source = '';
  let inClass = false;
  for (let i = 0; i < p.length; i++) {
    const c = p[i] as string;
    if (c === '\\') {
      source += c + (p[++i] ?? '');
    } else if (inClass) {
      if (c === ']') inClass = false;
      source += c;
    } else if (c === '[') {
      inClass = true;
      source += c;
    } else if (c === ' ') {
      while (p[i + 1] === ' ') i++;
      source += '\\s+';
    } else {
      source += c;
    }
  }
  try {
    return new RegExp(source, 'i');
  } catch {
    return undefined;
  }
}
