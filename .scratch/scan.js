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
    const seen = /* @__PURE__ */ new Map();
    return rules.filter((r) => {
      let ok = seen.get(r.urlPattern);
      if (ok === void 0) {
        try {
          ok = globToRegExp(r.urlPattern).test(url);
        } catch {
          ok = false;
        }
        seen.set(r.urlPattern, ok);
      }
      return ok;
    });
  }
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
  var FORM_REGION_LEVELS = 3;
  function formRegions(doc) {
    const regions = /* @__PURE__ */ new Set();
    for (const form of Array.from(doc.forms).slice(0, 5)) {
      let region = form;
      for (let i = 0; i < FORM_REGION_LEVELS; i++) {
        const parent = region.parentElement;
        if (!parent || parent === doc.body || parent === doc.documentElement) break;
        region = parent;
      }
      regions.add(region);
    }
    return [...regions].filter((r) => ![...regions].some((o) => o !== r && o.contains(r)));
  }
  function detect(rules, doc, scope = "full") {
    let runs;
    const text = () => {
      if (runs) return runs;
      if (!doc.body) return runs = [];
      if (scope === "full") return runs = textRuns(doc.body);
      return runs = formRegions(doc).flatMap(textRuns);
    };
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
        hit = text().some((run) => re.test(run));
      } else {
        hit = true;
      }
      if (hit) return { outcome: rule.outcome, rule };
    }
    return void 0;
  }

  // extension/content/banner.ts
  var CSS = `
:host{all:initial}
.card{position:fixed;top:16px;right:16px;z-index:2147483647;max-width:380px;display:flex;gap:12px;align-items:center;flex-wrap:wrap;
padding:12px 14px;border-radius:8px;background:#fff;color:#1b1f24;border:1px solid #c7ccd1;border-left:4px solid #0b5cad;
box-shadow:0 4px 16px rgba(0,0,0,.18);font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
.msg{flex:1 1 200px;margin:0}
button{font:inherit;cursor:pointer;border-radius:6px}
.act{background:#0b5cad;color:#fff;border:1px solid #0b5cad;padding:6px 12px;font-weight:600}
.x{background:none;border:1px solid transparent;color:#444;padding:2px 8px;font-size:18px;line-height:1}
button:focus-visible{outline:3px solid #f5a623;outline-offset:2px}
`;
  function showBanner(outcome, text, onAct) {
    const host = document.createElement("unlatch-banner");
    host.setAttribute("data-outcome", outcome);
    const root = host.attachShadow({ mode: "open" });
    try {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } catch {
      const style = document.createElement("style");
      style.textContent = CSS;
      root.append(style);
    }
    const card = document.createElement("div");
    card.className = "card";
    card.setAttribute("role", "region");
    card.setAttribute("aria-label", text.label);
    const msg = document.createElement("p");
    msg.className = "msg";
    msg.setAttribute("role", "status");
    msg.textContent = text.message;
    const act = document.createElement("button");
    act.className = "act";
    act.type = "button";
    act.textContent = text.action;
    const x = document.createElement("button");
    x.className = "x";
    x.type = "button";
    x.textContent = "\xD7";
    x.setAttribute("aria-label", text.dismiss);
    card.append(msg, act, x);
    root.append(card);
    const remove = () => host.remove();
    act.addEventListener("click", (ev) => {
      if (ev.isTrusted) onAct();
    });
    x.addEventListener("click", (ev) => {
      if (ev.isTrusted) remove();
    });
    document.documentElement.append(host);
    return remove;
  }

  // .scratch/scanentry.ts
  globalThis.__prof = async (rules) => {
    const out = {};
    const t0 = performance.now();
    await Promise.resolve(rules);
    out.await = performance.now() - t0;
    let t = performance.now();
    const c = rulesForUrl(rules, location.href);
    out.url = performance.now() - t;
    t = performance.now();
    const d = detect(c, document, "likely");
    out.likely = performance.now() - t;
    out.hit = d ? 1 : 0;
    t = performance.now();
    showBanner("expired", { message: "m", action: "a", dismiss: "d", label: "l" }, () => {
    });
    out.banner = performance.now() - t;
    out.total = performance.now() - t0;
    return out;
  };
})();
