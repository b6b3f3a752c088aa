/**
 * The service worker (an event page in Firefox). It holds no state of its own and never talks
 * to the relay (a suspended worker would drop the session; the reset page runs it instead).
 * Its jobs: ingest managed policy into storage.local for the content script, open the reset
 * page for the banner and the toolbar button, and reload policy when asked by a page.
 */
import browser, { type Runtime } from 'webextension-polyfill';
import { parseBackgroundMessage, resetPageQuery, type BackgroundMessage, type ResetPageParams } from '../lib/messages.ts';
import { loadSettings, type StorageLike } from '../lib/settings.ts';

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
