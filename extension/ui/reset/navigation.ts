/** Leaving the reset page: back to the sign-in tab it was opened from, then close this one. */
import browser from 'webextension-polyfill';

export async function closeAndReturn(openerTab: number | undefined): Promise<void> {
  if (openerTab !== undefined) {
    // The sign-in tab may have been closed meanwhile; closing this page is still right.
    await browser.tabs.update(openerTab, { active: true }).catch(() => undefined);
  }
  window.close();
}
