"use strict";
(() => {
  // extension/lib/rules.ts
  function globToRegExp(glob) {
    const body = glob.split("*").map((part) => part.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")).join(".*");
    return new RegExp(`^${body}$`, "i");
  }
  function ruleUrl(href) {
    const hash = href.indexOf("#");
    return hash < 0 ? href : href.slice(0, hash);
  }
  function rulesForUrl(rules, href) {
    const url = ruleUrl(href);
    return rules.filter((r) => {
      try {
        return globToRegExp(r.urlPattern).test(url);
      } catch {
        return false;
      }
    });
  }
  function textRegExp(rule) {
    if (!rule.textPattern) return void 0;
    let source = "";
    let inClass = false;
    const p = rule.textPattern;
    for (let i = 0; i < p.length; i++) {
      const c = p[i];
      if (c === "\\") {
        source += c + (p[++i] ?? "");
      } else if (inClass) {
        if (c === "]") inClass = false;
        source += c;
      } else if (c === "[") {
        inClass = true;
        source += c;
      } else if (c === " ") {
        while (p[i + 1] === " ") i++;
        source += "\\s+";
      } else {
        source += c;
      }
    }
    try {
      return new RegExp(source, "i");
    } catch {
      return void 0;
    }
  }

  // extension/content/scan.ts
  var HIDDEN_TEXT = "script,style,noscript,textarea";
  function textRuns(root) {
    const text = root.textContent ?? "";
    const hidden = root.querySelectorAll(HIDDEN_TEXT);
    if (hidden.length === 0) return [text];
    const runs = [];
    let pos = 0;
    for (const el of Array.from(hidden)) {
      const inner = el.textContent;
      if (!inner) continue;
      const at = text.indexOf(inner, pos);
      if (at < 0) continue;
      if (at > pos) runs.push(text.slice(pos, at));
      pos = at + inner.length;
    }
    if (pos < text.length) runs.push(text.slice(pos));
    return runs;
  }
  function detect(rules, doc) {
    let body;
    for (const rule of rules) {
      const re = textRegExp(rule);
      if (rule.textPattern && !re) continue;
      let hit;
      if (rule.selector) {
        let found;
        try {
          found = Array.from(doc.querySelectorAll(rule.selector));
        } catch {
          continue;
        }
        hit = re ? found.some((el) => textRuns(el).some((run) => re.test(run))) : found.length > 0;
      } else if (re) {
        body ??= doc.body ? textRuns(doc.body) : [];
        hit = body.some((run) => re.test(run));
      } else {
        hit = true;
      }
      if (hit) return { outcome: rule.outcome, rule };
    }
    return void 0;
  }

  // .scratch/scanentry.ts
  globalThis.__prof = (rules) => {
    const out = {};
    let t = performance.now();
    const c = rulesForUrl(rules, location.href);
    out.url = performance.now() - t;
    t = performance.now();
    const runs = textRuns(document.body);
    out.runs = performance.now() - t;
    out.nruns = runs.length;
    t = performance.now();
    for (const r of c) {
      const re = textRegExp(r);
      const t1 = performance.now();
      runs.some((x) => re.test(x));
      out["re_" + r.outcome] = performance.now() - t1;
    }
    out.regex = performance.now() - t;
    t = performance.now();
    detect(c, document);
    out.detect = performance.now() - t;
    return out;
  };
})();
