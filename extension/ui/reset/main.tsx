/** Entry of the reset page: reads policy, then renders the flow (or why it cannot run). */
import { render } from 'preact';
import { parseResetPageQuery } from '../../lib/messages.ts';
import { missingRequired } from '../../lib/settings.ts';
import { applyDocumentLanguage, uiLocale } from '../i18n.ts';
import { readSettings, sessionOpener } from '../platform.ts';
import { ResetApp } from './app.tsx';

async function main(): Promise<void> {
  applyDocumentLanguage();
  const params = parseResetPageQuery(location.search);
  const loaded = await readSettings();
  const root = document.getElementById('app') as HTMLElement;
  root.textContent = '';
  render(
    <ResetApp
      settings={loaded.settings}
      missing={missingRequired(loaded.settings)}
      params={params}
      open={sessionOpener(loaded.settings)}
      locale={uiLocale()}
    />,
    root,
  );
}

void main();
