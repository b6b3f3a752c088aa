/**
 * The options page: the effective configuration as policy set it (read-only: every setting
 * comes from the admin), the problems found in that policy, a connection test, and — with no
 * policy at all — what the admin must deploy.
 */
import { render } from 'preact';
import { useState } from 'preact/hooks';
import browser from 'webextension-polyfill';
import schema from '../../../managed_schema.json' with { type: 'json' };
import { describeError, toErrorInfo, type ErrorView } from '../../lib/errors.ts';
import { missingRequired, SETTING_KEYS, type LoadedSettings, type SettingKey } from '../../lib/settings.ts';
import { DEFAULT_RULES } from '../../lib/default-rules.ts';
import { ErrorMessage, Shell } from '../common.tsx';
import { applyDocumentLanguage, t } from '../i18n.ts';
import { readSettings, sessionOpener } from '../platform.ts';

const TITLES = schema.properties as Record<SettingKey, { title: string; description: string }>;

function display(loaded: LoadedSettings, key: SettingKey): string {
  const value = loaded.settings[key];
  if (key === 'detectionRules') return t('optRules', loaded.settings.detectionRules.length, DEFAULT_RULES.length);
  if (value === undefined) return t('optNotSet');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function Options({ loaded }: { loaded: LoadedSettings }) {
  const [test, setTest] = useState<{ state: 'idle' | 'running' | 'ok' } | { state: 'failed'; error: ErrorView }>({ state: 'idle' });
  const [progress, setProgress] = useState(0);
  const missing = missingRequired(loaded.settings);
  const extensionId = browser.runtime.id;
  const runTest = async () => {
    setTest({ state: 'running' });
    setProgress(0);
    try {
      const session = await sessionOpener(loaded.settings)((p) => setProgress(p));
      session.close();
      setTest({ state: 'ok' });
    } catch (err) {
      setTest({ state: 'failed', error: describeError(toErrorInfo(err)) });
    }
  };
  const status = loaded.source === 'policy' ? 'optStatusPolicy' : loaded.source === 'cache' ? 'optStatusCache' : 'optStatusNone';
  const example = JSON.stringify(
    { '3rdparty': { extensions: { [extensionId]: { relayUrl: 'wss://relay.corp.example', tenant: 'acme', signingKeyPin: '…' } } } },
    null,
    2,
  );
  return (
    <Shell settings={loaded.settings}>
      <h1>{t('optionsTitle')}</h1>
      <p>{t('optionsIntro')}</p>
      <p class={`status status-${loaded.source}`} id="policy-status" data-source={loaded.source}>
        {t(status)}
      </p>
      <table class="settings">
        <caption>{t('optTableCaption')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('optSetting')}</th>
            <th scope="col">{t('optValue')}</th>
            <th scope="col">{t('optSource')}</th>
          </tr>
        </thead>
        <tbody>
          {SETTING_KEYS.map((key) => (
            <tr key={key} data-key={key}>
              <th scope="row">
                {TITLES[key].title} <code>{key}</code>
              </th>
              <td class="value">{display(loaded, key)}</td>
              <td>{loaded.fromPolicy.includes(key) ? t('optSourcePolicy') : t('optSourceDefault')}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {loaded.problems.length > 0 ? (
        <section aria-labelledby="problems-title">
          <h2 id="problems-title">{t('optProblems')}</h2>
          <ul class="problems">
            {loaded.problems.map((p) => (
              <li key={p.key}>
                <code>{p.key}</code> {p.message}
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      {missing.length > 0 ? (
        <section aria-labelledby="deploy-title" class="deploy">
          <h2 id="deploy-title">{t('optDeployTitle')}</h2>
          <p>{t('optDeployText', extensionId)}</p>
          <p>{t('missingSettings', missing.join(', '))}</p>
          <pre tabIndex={0} aria-label={t('optExample')}>
            {example}
          </pre>
        </section>
      ) : (
        <section aria-labelledby="test-title">
          <h2 id="test-title">{t('optTestTitle')}</h2>
          <button type="button" class="primary" id="test-connection" disabled={test.state === 'running'} onClick={() => void runTest()}>
            {test.state === 'running' ? t('optTesting') : t('optTest')}
          </button>
          {test.state === 'running' ? <progress max={100} value={Math.round(progress * 100)} aria-label={t('progressLabel')} /> : null}
          <div id="test-result" aria-live="polite">
            {test.state === 'ok' ? (
              <p class="success" data-result="ok">
                {t('optTestOk')}
              </p>
            ) : null}
            {test.state === 'failed' ? <ErrorMessage view={test.error} /> : null}
          </div>
        </section>
      )}
      {missing.length === 0 ? (
        <p>
          <a id="register-link" href="register.html">
            {t('optRegisterLink')}
          </a>
        </p>
      ) : null}
      <p class="hint">
        {t('optExtensionId')} <code id="extension-id">{extensionId}</code>
      </p>
    </Shell>
  );
}

async function main(): Promise<void> {
  applyDocumentLanguage();
  document.title = t('optionsTitle');
  // Ask the service worker to re-read policy too, so the banner's rules match what is shown.
  void browser.runtime.sendMessage({ type: 'page:reload-policy' }).catch(() => undefined);
  const loaded = await readSettings();
  const root = document.getElementById('app') as HTMLElement;
  root.textContent = '';
  render(<Options loaded={loaded} />, root);
}

void main();
