/** Entry of the registration page: reads policy, then renders the page (or why it cannot run). */
import { render } from 'preact';
import { cleanUserId } from '../../lib/messages.ts';
import { missingRequired } from '../../lib/settings.ts';
import { applyDocumentLanguage, uiLocale } from '../i18n.ts';
import { readSettings, sessionOpener } from '../platform.ts';
import { RegisterApp } from './app.tsx';

async function main(): Promise<void> {
  applyDocumentLanguage();
  const user = cleanUserId(new URLSearchParams(location.search).get('user'));
  const loaded = await readSettings();
  const root = document.getElementById('app') as HTMLElement;
  root.textContent = '';
  render(
    <RegisterApp
      settings={loaded.settings}
      missing={missingRequired(loaded.settings)}
      {...(user ? { user } : {})}
      open={sessionOpener(loaded.settings)}
      locale={uiLocale()}
    />,
    root,
  );
  root.removeAttribute('aria-busy');
}

void main();
