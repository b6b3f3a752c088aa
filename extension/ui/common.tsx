/** Pieces both pages share: the branded frame, the help-desk line and error messages. */
import type { ComponentChildren } from 'preact';
import { useEffect } from 'preact/hooks';
import type { ErrorView } from '../lib/errors.ts';
import type { Settings } from '../lib/settings.ts';
import { t } from './i18n.ts';

export function Shell({ settings, children }: { settings: Settings; children: ComponentChildren }) {
  return (
    <>
      <header class="brand">
        {settings.logoUrl ? <img class="logo" src={settings.logoUrl} alt={settings.companyName ?? ''} /> : null}
        <span class="brand-name">{settings.companyName ? t('brandWithCompany', settings.companyName) : t('brand')}</span>
      </header>
      <main id="main">{children}</main>
      <footer class="help">
        <HelpDesk settings={settings} />
      </footer>
    </>
  );
}

export function HelpDesk({ settings }: { settings: Settings }) {
  const text = settings.helpdeskText ?? t('helpdeskDefault');
  return (
    <p>
      {text}
      {settings.helpdeskUrl ? (
        <>
          {' '}
          <a href={settings.helpdeskUrl} target="_blank" rel="noopener noreferrer">
            {t('helpdeskLink')}
          </a>
        </>
      ) : null}
    </p>
  );
}

/** One error: what happened, the broken rule if any, what to do next, and a code for admins. */
export function ErrorMessage({ view, id }: { view: ErrorView; id?: string }) {
  return (
    <div class="error" role="alert" id={id} data-code={view.code} data-reason={view.reason}>
      <p class="error-message">{t(view.messageKey)}</p>
      {view.reasonKey ? <p class="error-reason">{t(view.reasonKey)}</p> : null}
      <p class="error-next">{t(view.nextKey)}</p>
      {view.audience === 'admin' ? <p class="error-admin">{t('forAdmin', view.code)}</p> : null}
    </div>
  );
}

/** Keeps the tab title in step with the current step, branded like every Unlatch page. */
export function useDocumentTitle(title: string, settings: Settings): void {
  useEffect(() => {
    document.title = `${title} – ${settings.companyName ? t('brandWithCompany', settings.companyName) : t('brand')}`;
  }, [title]);
}

/** What a page shows when policy lacks required settings: the person's text and the admin's list. */
export function Unconfigured({ settings, missing }: { settings: Settings; missing: readonly string[] }) {
  return (
    <Shell settings={settings}>
      <h1 tabIndex={-1}>{t('unconfiguredTitle')}</h1>
      <p>{t('unconfiguredText')}</p>
      <p class="admin-note">{t('missingSettings', missing.join(', '))}</p>
    </Shell>
  );
}
