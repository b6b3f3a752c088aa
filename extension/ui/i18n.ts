/** Translations for extension pages, from _locales through the browser's i18n API. */
import browser from 'webextension-polyfill';

/** The message for `key`, with $1…$9 substitutions; the key itself if it is missing. */
export function t(key: string, ...substitutions: (string | number)[]): string {
  const subs = substitutions.map(String);
  return browser.i18n.getMessage(key, subs.length ? subs : undefined) || key;
}

/** Sets <html lang> and dir to the language the messages are actually in. */
export function applyDocumentLanguage(): void {
  const lang = t('lang');
  document.documentElement.lang = lang === 'lang' ? 'en' : lang;
  document.documentElement.dir = browser.i18n.getMessage('@@bidi_dir') || 'ltr';
}

/** The browser's UI language (BCP 47), for the agent's own messages such as the code mail. */
export function uiLocale(): string {
  return browser.i18n.getUILanguage();
}
