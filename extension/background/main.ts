/**
 * The service worker (an event page in Firefox). It holds no state of its own (the user name
 * captured at a nudge page's sign-in waits in storage.session) and runs no session with the
 * relay but one: the single `register.status` question after a sign-in, over in a second
 * (resets and registrations, which take minutes, run in their pages: a suspended worker would
 * drop them). Its jobs: ingest managed policy into storage.local for the content script, open
 * the reset and registration pages for the banners and the toolbar button, answer the nudge
 * question, and reload policy when asked by a page.
 */
import browser, { type Runtime } from 'webextension-polyfill';
import { ClientSession } from '../../protocol/client.ts';
import { parseBackgroundMessage, resetPageQuery, type BackgroundMessage, type ResetPageParams } from '../lib/messages.ts';
import { loadSettings, missingRequired, signingKeyPins, type StorageLike } from '../lib/settings.ts';

const storage = browser.storage as unknown as StorageLike;

function ingest(attempts = 5) {
  return loadSettings(storage, { attempts, delayMs: 400 });
}

async function openReset(params: ResetPageParams, opener?: { id?: number; index?: number }): Promise<void> {
  const url = browser.runtime.getURL(`reset.html${resetPageQuery({ ...params, ...(opener?.id !== undefined ? { tab: opener.id } : {}) })}`);
  await browser.tabs.create({
    url,
    ...(opener?.id !== undefined ? { openerTabId: opener.id } : {}),
    ...(opener?.index !== undefined ? { index: opener.index + 1 } : {}),
  });
}

async function openRegister(user: string | undefined, opener?: { id?: number; index?: number }): Promise<void> {
  const url = browser.runtime.getURL(`register.html${user ? `?user=${encodeURIComponent(user)}` : ''}`);
  await browser.tabs.create({
    url,
    ...(opener?.id !== undefined ? { openerTabId: opener.id } : {}),
    ...(opener?.index !== undefined ? { index: opener.index + 1 } : {}),
  });
}

/** storage.session (memory only, gone with the browser); the polyfill's types predate it. */
const session = (browser.storage as unknown as { session?: { get(k: string): Promise<Record<string, unknown>>; set(i: Record<string, unknown>): Promise<void>; remove(k: string): Promise<void> } }).session;
const signinKey = (tab: number) => `unlatch.signin.${tab}`;
const ASKED_KEY = 'unlatch.nudge.asked';

/** Asks the agent once per user and browser session whether to suggest registering. */
async function shouldNudge(user: string): Promise<boolean> {
  const asked = ((await session?.get(ASKED_KEY).catch(() => ({}) as Record<string, unknown>))?.[ASKED_KEY] ?? []) as string[];
  const key = user.toLowerCase();
  if (asked.includes(key)) return false;
  await session?.set({ [ASKED_KEY]: [...asked, key].slice(-50) }).catch(() => undefined);
  const { settings } = await loadSettings(storage, { attempts: 1 });
  if (missingRequired(settings).length > 0 || !settings.registrationNudge) return false;
  const client = await ClientSession.open({ relayUrl: settings.relayUrl ?? '', tenant: settings.tenant ?? '', pin: signingKeyPins(settings), timeoutMs: 15_000 });
  try {
    const answer = await client.request({ op: 'register.status', user });
    return answer.op === 'register.status' && answer.nudge;
  } finally {
    client.close();
  }
}

/** A content script of ours, in a web page's top frame. */
function fromContentScript(sender: Runtime.MessageSender): boolean {
  return sender.id === browser.runtime.id && sender.tab?.id !== undefined && sender.frameId === 0 && /^https?:/.test(sender.url ?? '');
}

/** One of our own pages (reset, options). */
function fromExtensionPage(sender: Runtime.MessageSender): boolean {
  return sender.id === browser.runtime.id && (sender.url ?? '').startsWith(browser.runtime.getURL(''));
}

type Handlers = {
  [T in BackgroundMessage['type']]: (message: Extract<BackgroundMessage, { type: T }>, sender: Runtime.MessageSender) => Promise<unknown>;
};

const handlers: Handlers = {
  'content:open-reset': async (message, sender) => {
    if (!fromContentScript(sender)) return undefined;
    await openReset({ outcome: message.outcome, ...(message.user ? { user: message.user } : {}) }, sender.tab);
    return true;
  },
  'content:signin': async (message, sender) => {
    if (!fromContentScript(sender) || !session) return undefined;
    await session.set({ [signinKey(sender.tab?.id as number)]: message.user });
    return true;
  },
  'content:signed-in': async (message, sender) => {
    if (!fromContentScript(sender)) return false;
    const key = signinKey(sender.tab?.id as number);
    const captured = (await session?.get(key).catch(() => ({}) as Record<string, unknown>))?.[key];
    await session?.remove(key).catch(() => undefined);
    const user = message.user ?? (typeof captured === 'string' ? captured : undefined);
    if (!user) return false;
    // Any failure (relay down, agent offline): no banner. A nudge is never worth an error.
    // The answer names the user (for the banner's link to the registration page) or is false.
    return (await shouldNudge(user).catch(() => false)) ? user : false;
  },
  'content:open-register': async (message, sender) => {
    if (!fromContentScript(sender)) return undefined;
    await openRegister(message.user, sender.tab);
    return true;
  },
  'page:reload-policy': async (_message, sender) => {
    if (!fromExtensionPage(sender)) return undefined;
    const loaded = await ingest(1);
    return loaded.source;
  },
};

browser.runtime.onMessage.addListener((raw: unknown, sender: Runtime.MessageSender) => {
  const message = parseBackgroundMessage(raw);
  if (!message) return undefined;
  const handler = handlers[message.type] as (m: BackgroundMessage, s: Runtime.MessageSender) => Promise<unknown>;
  return handler(message, sender);
});

browser.runtime.onInstalled.addListener(() => void ingest());
browser.runtime.onStartup.addListener(() => void ingest());
browser.storage.onChanged.addListener((_changes, area) => {
  if (area === 'managed') void ingest(1);
});
browser.action.onClicked.addListener((tab) => void openReset({}, tab));
