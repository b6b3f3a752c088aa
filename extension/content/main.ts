/**
 * The content script, injected into every http(s) page (extension/README.md says why) and
 * built to cost next to nothing where it has no business: one storage read, then a URL test
 * against the detection rules, and it is gone unless the page is a known sign-in page.
 * No framework, no polyfill: MV3's `chrome.*` returns promises, Firefox has `browser.*`.
 */
import type { ContentToBackground } from '../lib/messages.ts';
import { globMatch, ruleUrl, rulesForUrl, type DetectionRule } from '../lib/rules.ts';
import type { RegistrationNudge } from '../lib/settings.ts';
import { NUDGE_KEY, RULES_KEY } from '../lib/storage-keys.ts';
import { showBanner } from './banner.ts';
import { detect, readUser, type Detection } from './scan.ts';

interface Api {
  storage: { local: { get(keys: string[]): Promise<Record<string, unknown>> } };
  runtime: { sendMessage(message: ContentToBackground): Promise<unknown> };
  i18n: { getMessage(key: string): string };
}

const g = globalThis as unknown as { browser?: Api; chrome?: Api };
const api = (g.browser ?? g.chrome) as Api;

/** How long a page that matched by URL is watched for its message to appear (SPAs). */
const WATCH_MS = 10 * 60_000;
const RESCAN_MS = 400;

const KEYS = {
  expired: ['bannerExpired', 'bannerActionChange'],
  must_change: ['bannerMustChange', 'bannerActionChange'],
  locked: ['bannerLocked', 'bannerActionUnlock'],
} as const;

/** Runs `task` when the page is idle (at the latest after a second), so loading never waits on it. */
function idle<T>(task: () => T): Promise<T> {
  return new Promise((resolve) => {
    const run = () => resolve(task());
    if (typeof requestIdleCallback === 'function') requestIdleCallback(run, { timeout: 1000 });
    else setTimeout(run, 50);
  });
}

const PASSWORD = 'input[type=password]';

/**
 * The registration nudge, on the admin's sign-in page only: remember the user name typed when
 * a form with a password field is submitted (never the password), and once the page looks
 * signed in, ask the service worker (which asks the agent) whether to suggest registering.
 */
function nudge(n: RegistrationNudge): void {
  document.addEventListener(
    'submit',
    (ev) => {
      const form = ev.target as HTMLFormElement;
      if (!form.querySelector?.(PASSWORD)) return;
      // The admin's selector anywhere on the page; by default the form's first text input.
      const user = n.userField ? readUser(document, n.userField) : readUser(form, 'input[type=text],input[type=email],input:not([type])');
      if (user) void api.runtime.sendMessage({ type: 'content:signin', user }).catch(() => undefined);
    },
    true,
  );
  let signedIn: boolean;
  try {
    signedIn = n.successSelector ? document.querySelector(n.successSelector) !== null : document.querySelector(PASSWORD) === null;
  } catch {
    return;
  }
  if (!signedIn) return;
  const shown = readUser(document, n.userField);
  void api.runtime
    .sendMessage({ type: 'content:signed-in', ...(shown ? { user: shown } : {}) })
    .then((user) => {
      // The answer is the user name to register when the agent says to nudge, else false.
      if (typeof user !== 'string' || document.querySelector('unlatch-banner')) return;
      const m = (key: string) => api.i18n.getMessage(key);
      showBanner('register', { message: m('regNudge'), action: m('regNudgeAction'), dismiss: m('bannerDismiss'), label: m('extName') }, () => {
        void api.runtime.sendMessage({ type: 'content:open-register', user });
      });
    })
    .catch(() => undefined);
}

async function main(): Promise<void> {
  const got = await api.storage.local.get([RULES_KEY, NUDGE_KEY]);
  const n = got[NUDGE_KEY] as RegistrationNudge | null | undefined;
  if (n && globMatch(n.urlPattern, ruleUrl(location.href))) nudge(n);
  const stored = got[RULES_KEY];
  if (!Array.isArray(stored)) return;
  const rules = rulesForUrl(stored as DetectionRule[], location.href);
  if (rules.length === 0) return;

  let shown = false;
  const show = (hit: Detection) => {
    shown = true;
    const [message, action] = KEYS[hit.outcome];
    showBanner(
      hit.outcome,
      { message: api.i18n.getMessage(message), action: api.i18n.getMessage(action), dismiss: api.i18n.getMessage('bannerDismiss'), label: api.i18n.getMessage('extName') },
      () => {
        // Read the user name when clicked: it may have been typed after the banner appeared.
        const user = readUser(document, hit.rule.userField);
        void api.runtime.sendMessage({ type: 'content:open-reset', outcome: hit.outcome, ...(user ? { user } : {}) });
      },
    );
  };

  // The text around sign-in forms first (cheap on any page); all visible text when the page is idle.
  const first = detect(rules, document, 'likely') ?? (await idle(() => detect(rules, document, 'full')));
  if (first) return show(first);

  // Single-page sign-ins render their errors later: rescan on changes, at most every RESCAN_MS.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const observer = new MutationObserver(() => {
    timer ??= setTimeout(() => {
      timer = undefined;
      const hit = shown ? undefined : detect(rules, document, 'full');
      if (hit) {
        observer.disconnect();
        show(hit);
      }
    }, RESCAN_MS);
  });
  observer.observe(document.documentElement, { childList: true, subtree: true, characterData: true });
  setTimeout(() => observer.disconnect(), WATCH_MS);
}

void main().catch(() => undefined);
