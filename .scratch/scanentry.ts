(globalThis as any).__prof = async (rules: any[]) => {
  const out: Record<string, number> = {};
  let t = performance.now();
  const region = document.getElementById('content')!; out.byId = performance.now() - t; t = performance.now();
  const tc = region.textContent; out.textContent = performance.now() - t; t = performance.now();
  const q = region.querySelectorAll('script,style,noscript,textarea'); out.qsa = performance.now() - t; t = performance.now();
  const q2 = region.querySelectorAll('script,style,noscript,textarea'); out.qsa2 = performance.now() - t; t = performance.now();
  const g = region.getElementsByTagName('script').length; out.gebtn = performance.now() - t; t = performance.now();
  return out;
};
