"use strict";
(() => {
  // extension/lib/rules.ts
  var compiled = /* @__PURE__ */ new Map();
  function textRegExp(rule) {
    if (!rule.textPattern) return void 0;
    if (compiled.has(rule.textPattern)) return compiled.get(rule.textPattern);
    const re = compileText(rule.textPattern);
    compiled.set(rule.textPattern, re);
    return re;
  }
  function compileText(p) {
    let source = "";
    let inClass = false;
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

  // .scratch/scanentry.ts
  globalThis.__prof = async (rules) => {
    const out = {};
    let t = performance.now();
    const region = document.getElementById("content");
    const runs = textRuns(region);
    out.runs = performance.now() - t;
    out.len = runs.join("").length;
    t = performance.now();
    for (const r of rules.slice(1, 4)) {
      const t1 = performance.now();
      const re = textRegExp(r);
      out["compile_" + r.outcome] = performance.now() - t1;
      const t2 = performance.now();
      re.test(runs[0]);
      out["test_" + r.outcome] = performance.now() - t2;
    }
    return out;
  };
})();
