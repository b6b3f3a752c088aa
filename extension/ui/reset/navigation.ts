/** Leaving the reset page: back to the sign-in tab it was opened from, then close this one. */
import browser from 'webextension-polyfill';

export async function closeAndReturn(openerTab: number | undefined): Promise<void> {
  if (openerTab !== undefined) {
    // The sign-in tab may have been closed meanwhile; closing this page is still right.
    await browser.tabs.update(openerTab, { active: true }).catch(() => undefined);
  }
  // tabs.remove needs no permission for our own tab, and works where window.close() may not.
  const self = await browser.tabs.getCurrent().catch(() => undefined);
  if (self?.id !== undefined) await browser.tabs.remove(self.id);
  else window.close();
}
