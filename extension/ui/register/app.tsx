/**
 * The registration page: user id + current password (the agent checks it against the
 * directory) → what is on file → add a phone, an alternate e-mail, an authenticator app or
 * security questions, each verified → confirm. Every step has a focusable heading, every field
 * a visible label; errors are role="alert".
 *
 * Errors: anything the client *throws* ended the session (restart); an error *answer* leaves
 * it open and is shown inline.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { AgentMessage, ClientMessage, RegistrationView } from '../../../protocol/messages.ts';
import { describeError, toErrorInfo, type ErrorView } from '../../lib/errors.ts';
import { addForms, CURRENT_PASSWORD_FIELD, groupSecret, questionAnswers, totpSecretOf, type AddForm } from '../../lib/register.ts';
import type { OpenSession, SessionLike } from '../../lib/reset-flow.ts';
import type { SettingKey, Settings } from '../../lib/settings.ts';
import { ErrorMessage, Shell, Unconfigured, useDocumentTitle } from '../common.tsx';
import { t } from '../i18n.ts';

interface Props {
  settings: Settings;
  missing: SettingKey[];
  user?: string;
  open: OpenSession;
  locale?: string;
}

type Pending = Extract<AgentMessage, { op: 'register.pending' }>;

type Step =
  | { kind: 'signin' }
  | { kind: 'connecting' }
  | { kind: 'view'; view: RegistrationView; pending?: Pending; form?: AddForm; confirmed?: boolean }
  | { kind: 'failed'; error: ErrorView };

const METHOD_LABEL = (m: string): string =>
  ({ email: t('regMethodEmail'), sms: t('regMethodSms'), voice: t('regMethodVoice'), totp: t('regMethodTotp'), questions: t('regMethodQuestions') })[m] ?? m;

const FORM_LABEL = (f: AddForm): string => ({ phone: t('regAddPhone'), email: t('regAddEmail'), totp: t('regAddTotp'), questions: t('regAddQuestions') })[f];

export function RegisterApp({ settings, missing, user, open, locale }: Props) {
  const unconfigured = missing.includes('relayUrl') || missing.includes('tenant');
  const [step, setStep] = useState<Step>(
    !unconfigured && missing.includes('signingKeyPin') ? { kind: 'failed', error: describeError({ code: 'KEY_PIN_MISSING' }) } : { kind: 'signin' },
  );
  const [error, setError] = useState<ErrorView | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const session = useRef<SessionLike | undefined>(undefined);
  const heading = useRef<HTMLHeadingElement>(null);
  const first = useRef(true);

  useEffect(() => () => session.current?.close(), []);
  // Where focus goes when the page changes under the person: the new part's heading (the
  // button they pressed may be gone), so keyboard and screen-reader users land on it.
  const phase = step.kind === 'view' ? `view:${step.pending?.id ?? ''}:${step.form ?? ''}:${step.confirmed ? 1 : 0}` : step.kind;
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    const sub = step.kind === 'view' ? (step.pending ? 'pending-heading' : step.form ? 'add-form-heading' : undefined) : undefined;
    (sub ? document.getElementById(sub) : heading.current)?.focus();
  }, [phase]);

  const title = unconfigured
    ? t('unconfiguredTitle')
    : step.kind === 'signin'
      ? t('regSignInTitle')
      : step.kind === 'connecting'
        ? t('connectingTitle')
        : step.kind === 'view'
          ? t('regViewTitle')
          : t('failedTitle');
  useDocumentTitle(title, settings);

  if (unconfigured) return <Unconfigured settings={settings} missing={missing} />;

  const fail = (err: unknown) => {
    session.current?.close();
    session.current = undefined;
    setError(undefined);
    setStep({ kind: 'failed', error: describeError(toErrorInfo(err)) });
  };

  /** One request in the open session; an error answer is shown inline (or ends the page). */
  const send = async (message: ClientMessage): Promise<AgentMessage | undefined> => {
    const s = session.current;
    if (!s) return undefined;
    setBusy(true);
    setError(undefined);
    try {
      const answer = await s.request(message);
      if (answer.op === 'error') {
        const view = describeError(answer.reason ? { code: answer.code, reason: answer.reason } : { code: answer.code });
        if (view.recoverable) setError(view);
        else fail(answer);
        return undefined;
      }
      return answer;
    } catch (err) {
      fail(err);
      return undefined;
    } finally {
      setBusy(false);
    }
  };

  const signIn = async (userId: string, password: string) => {
    setError(undefined);
    setStep({ kind: 'connecting' });
    let s: SessionLike;
    try {
      s = await open(() => undefined);
      const currentPassword = await s.sealPassword(CURRENT_PASSWORD_FIELD, password);
      const answer = await s.request({ op: 'register.start', user: userId, currentPassword, ...(locale ? { locale } : {}) });
      if (answer.op === 'registration') {
        session.current = s;
        setStep({ kind: 'view', view: answer });
        return;
      }
      s.close();
      const view = answer.op === 'error' ? describeError(answer.reason ? { code: answer.code, reason: answer.reason } : { code: answer.code }) : describeError({ code: 'PROTOCOL_ERROR' });
      if (view.recoverable) {
        setError(view);
        setStep({ kind: 'signin' });
      } else setStep({ kind: 'failed', error: view });
    } catch (err) {
      fail(err);
    }
  };

  const onView = (answer: AgentMessage | undefined, extra: Partial<Extract<Step, { kind: 'view' }>> = {}) => {
    if (answer?.op === 'registration') setStep({ kind: 'view', view: answer, ...extra });
    else if (answer?.op === 'register.pending' && step.kind === 'view') setStep({ ...step, pending: answer });
  };

  return (
    <Shell settings={settings}>
      <h1 ref={heading} tabIndex={-1}>
        {title}
      </h1>
      {step.kind === 'signin' ? <SignIn user={user ?? ''} error={error} onSubmit={signIn} /> : null}
      {step.kind === 'connecting' ? (
        <p class="step" role="status">
          {t('regConnecting')}
        </p>
      ) : null}
      {step.kind === 'failed' ? (
        <div class="step">
          <ErrorMessage view={step.error} />
          <button type="button" class="primary" onClick={() => setStep({ kind: 'signin' })}>
            {t('startAgain')}
          </button>
        </div>
      ) : null}
      {step.kind === 'view' ? (
        <div class="step">
          <Methods view={step.view} busy={busy} onRemove={async (id) => onView(await send({ op: 'register.remove', id }))} />
          <Status view={step.view} confirmed={step.confirmed === true} />
          {error && !step.pending && !step.form ? <ErrorMessage view={error} /> : null}
          {step.pending ? (
            <PendingForm
              pending={step.pending}
              busy={busy}
              error={error}
              onVerify={async (code) => onView(await send({ op: 'register.verify', id: step.pending!.id, code }))}
              onResend={async () => onView(await send({ op: 'register.resend', id: step.pending!.id }))}
              onCancel={() => {
                setError(undefined);
                setStep({ kind: 'view', view: step.view });
              }}
            />
          ) : step.form ? (
            <AddFormView
              form={step.form}
              view={step.view}
              busy={busy}
              error={error}
              onSubmit={async (message) => onView(await send(message))}
              onCancel={() => {
                setError(undefined);
                setStep({ kind: 'view', view: step.view });
              }}
            />
          ) : (
            <>
              {addForms(step.view).length > 0 ? (
                <section aria-labelledby="add-heading">
                  <h2 id="add-heading">{t('regAddTitle')}</h2>
                  <div class="actions">
                    {addForms(step.view).map((f) =>
                      f === 'totp' ? (
                        <button type="button" key={f} disabled={busy} onClick={async () => onView(await send({ op: 'register.add', method: 'totp' }))}>
                          {FORM_LABEL(f)}
                        </button>
                      ) : (
                        <button type="button" key={f} disabled={busy} onClick={() => setStep({ kind: 'view', view: step.view, form: f })}>
                          {FORM_LABEL(f)}
                        </button>
                      ),
                    )}
                  </div>
                </section>
              ) : null}
              <button
                type="button"
                class="primary"
                disabled={busy}
                onClick={async () => onView(await send({ op: 'register.confirm' }), { confirmed: true })}
              >
                {t('regConfirm')}
              </button>
            </>
          )}
        </div>
      ) : null}
    </Shell>
  );
}

function SignIn({ user, error, onSubmit }: { user: string; error: ErrorView | undefined; onSubmit: (user: string, password: string) => void }) {
  const [id, setId] = useState(user);
  const [password, setPassword] = useState('');
  return (
    <form
      class="step"
      onSubmit={(ev) => {
        ev.preventDefault();
        if (id.trim() && password) onSubmit(id.trim(), password);
      }}
    >
      <p>{t('regIntro')}</p>
      <label for="user">{t('userLabel')}</label>
      <input id="user" name="user" autoComplete="username" required value={id} onInput={(e) => setId(e.currentTarget.value)} />
      <label for="current-password">{t('regCurrentPassword')}</label>
      <input
        id="current-password"
        type="password"
        autoComplete="current-password"
        required
        value={password}
        aria-describedby={error ? 'signin-error' : undefined}
        aria-invalid={error?.code === 'INVALID_CREDENTIALS' ? 'true' : undefined}
        onInput={(e) => setPassword(e.currentTarget.value)}
      />
      {error ? <ErrorMessage view={error} id="signin-error" /> : null}
      <button type="submit" class="primary">
        {t('continue')}
      </button>
    </form>
  );
}

function Methods({ view, busy, onRemove }: { view: RegistrationView; busy: boolean; onRemove: (id: string) => void }) {
  return (
    <section aria-labelledby="methods-heading">
      <h2 id="methods-heading">{t('regMethodsTitle')}</h2>
      {view.methods.length === 0 && view.questionsRegistered === 0 ? <p>{t('regNone')}</p> : null}
      <ul class="methods">
        {view.methods.map((m) => (
          <li key={m.id} data-method={m.method} data-source={m.source}>
            <span>
              {METHOD_LABEL(m.method)}: {m.hint}
            </span>{' '}
            {m.source === 'directory' ? (
              <span class="note">{t('regFromDirectory')}</span>
            ) : (
              <button type="button" disabled={busy} aria-label={t('regRemoveLabel', METHOD_LABEL(m.method), m.hint)} onClick={() => onRemove(m.id)}>
                {t('regRemove')}
              </button>
            )}
          </li>
        ))}
        {view.questionsRegistered > 0 && !view.methods.some((m) => m.method === 'questions') ? (
          <li data-method="questions" data-source="registered">
            {t('regQuestionsOnFile', view.questionsRegistered)}
          </li>
        ) : null}
      </ul>
    </section>
  );
}

function Status({ view, confirmed }: { view: RegistrationView; confirmed: boolean }) {
  return (
    <p class={view.complete ? 'success' : 'note'} role="status" data-complete={String(view.complete)}>
      {confirmed ? t('regConfirmed') : view.complete ? (view.reconfirmDue ? t('regReconfirmDue') : t('regComplete')) : t('regIncomplete', view.required)}
    </p>
  );
}

function PendingForm(props: {
  pending: Pending;
  busy: boolean;
  error: ErrorView | undefined;
  onVerify: (code: string) => void;
  onResend: () => void;
  onCancel: () => void;
}) {
  const { pending, busy, error } = props;
  const [code, setCode] = useState('');
  const [qr, setQr] = useState<string | undefined>(undefined);
  const secret = pending.otpauthUri ? totpSecretOf(pending.otpauthUri) : undefined;
  useEffect(() => {
    if (!pending.otpauthUri) return;
    let live = true;
    // The QR encoder is a separate chunk: only people adding an app download it.
    void import('./qr.ts').then(({ qrDataUrl }) => {
      if (live) setQr(qrDataUrl(pending.otpauthUri as string));
    });
    return () => {
      live = false;
    };
  }, [pending.otpauthUri]);
  return (
    <form
      class="pending"
      aria-labelledby="pending-heading"
      onSubmit={(ev) => {
        ev.preventDefault();
        if (code.trim()) props.onVerify(code.trim());
      }}
    >
      <h2 id="pending-heading" tabIndex={-1}>{pending.method === 'totp' ? t('regTotpTitle') : t('regCodeTitle')}</h2>
      {pending.method === 'totp' ? (
        <>
          <p>{t('regTotpScan')}</p>
          {qr ? <img class="qr" src={qr} width={200} height={200} alt={t('regQrAlt')} /> : <p role="status">{t('regQrLoading')}</p>}
          {secret ? (
            <p>
              {t('regTotpManual')} <code id="totp-secret" class="secret">{groupSecret(secret)}</code>
            </p>
          ) : null}
        </>
      ) : (
        <p role="status">{t('regCodeSent', pending.hint)}</p>
      )}
      <label for="reg-code">{pending.method === 'totp' ? t('regTotpCode') : t('codeLabel')}</label>
      <input
        id="reg-code"
        inputMode="numeric"
        autoComplete="one-time-code"
        required
        value={code}
        aria-describedby={error ? 'pending-error' : undefined}
        onInput={(e) => setCode(e.currentTarget.value)}
      />
      {error ? <ErrorMessage view={error} id="pending-error" /> : null}
      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>
          {t('verify')}
        </button>
        {pending.method !== 'totp' ? (
          <button type="button" disabled={busy} onClick={props.onResend}>
            {t('regResend')}
          </button>
        ) : null}
        <button type="button" disabled={busy} onClick={props.onCancel}>
          {t('regCancel')}
        </button>
      </div>
    </form>
  );
}

function AddFormView(props: {
  form: AddForm;
  view: RegistrationView;
  busy: boolean;
  error: ErrorView | undefined;
  onSubmit: (message: ClientMessage) => void;
  onCancel: () => void;
}) {
  const { form, view, busy, error } = props;
  const [value, setValue] = useState('');
  const phoneChannels = (['sms', 'voice'] as const).filter((m) => view.enabled.includes(m));
  const [channel, setChannel] = useState<'sms' | 'voice'>(phoneChannels[0] ?? 'sms');
  const count = Math.max(1, view.questionsToRegister);
  const [picks, setPicks] = useState(() => Array.from({ length: count }, (_, i) => ({ question: view.questions[i]?.id ?? '', answer: '' })));
  const [problem, setProblem] = useState<string | undefined>(undefined);
  const submit = (ev: Event) => {
    ev.preventDefault();
    setProblem(undefined);
    if (form === 'phone') props.onSubmit({ op: 'register.add', method: channel, phone: value.trim() });
    else if (form === 'email') props.onSubmit({ op: 'register.add', method: 'email', address: value.trim() });
    else if (form === 'questions') {
      const checked = questionAnswers(picks, count);
      if (!checked.ok) setProblem(checked.problem === 'duplicate' ? t('regQuestionsDuplicate') : t('regQuestionsMissing'));
      else props.onSubmit({ op: 'register.add', method: 'questions', answers: checked.answers });
    }
  };
  return (
    <form class="add" aria-labelledby="add-form-heading" onSubmit={submit}>
      <h2 id="add-form-heading" tabIndex={-1}>{FORM_LABEL(form)}</h2>
      {form === 'phone' ? (
        <>
          {phoneChannels.length > 1 ? (
            <fieldset>
              <legend>{t('regPhoneHow')}</legend>
              {phoneChannels.map((c) => (
                <label key={c} class="choice">
                  <input type="radio" name="channel" id={`channel-${c}`} checked={channel === c} onChange={() => setChannel(c)} /> {METHOD_LABEL(c)}
                </label>
              ))}
            </fieldset>
          ) : null}
          <label for="reg-phone">{t('regPhoneLabel')}</label>
          <input id="reg-phone" type="tel" autoComplete="tel" required value={value} aria-describedby="reg-phone-hint" onInput={(e) => setValue(e.currentTarget.value)} />
          <p id="reg-phone-hint" class="hint">
            {t('regPhoneHint')}
          </p>
        </>
      ) : null}
      {form === 'email' ? (
        <>
          <label for="reg-email">{t('regEmailLabel')}</label>
          <input id="reg-email" type="email" autoComplete="email" required value={value} onInput={(e) => setValue(e.currentTarget.value)} />
        </>
      ) : null}
      {form === 'questions' ? (
        <>
          <p>{t('regQuestionsIntro', count)}</p>
          {picks.map((p, i) => (
            <fieldset key={i}>
              <legend>{t('regQuestionN', i + 1)}</legend>
              <label for={`reg-q-${i}`}>{t('regQuestionChoose')}</label>
              <select
                id={`reg-q-${i}`}
                value={p.question}
                onChange={(e) => {
                  const question = e.currentTarget.value;
                  setPicks((all) => all.map((x, j) => (j === i ? { ...x, question } : x)));
                }}
              >
                {view.questions.map((q) => (
                  <option key={q.id} value={q.id}>
                    {q.text}
                  </option>
                ))}
              </select>
              <label for={`reg-a-${i}`}>{t('regAnswer')}</label>
              <input
                id={`reg-a-${i}`}
                autoComplete="off"
                required
                value={p.answer}
                onInput={(e) => {
                  const answer = e.currentTarget.value;
                  setPicks((all) => all.map((x, j) => (j === i ? { ...x, answer } : x)));
                }}
              />
            </fieldset>
          ))}
          {problem ? (
            <p class="error" role="alert">
              {problem}
            </p>
          ) : null}
        </>
      ) : null}
      {error ? <ErrorMessage view={error} /> : null}
      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>
          {form === 'questions' ? t('regSave') : t('regSendCode')}
        </button>
        <button type="button" disabled={busy} onClick={props.onCancel}>
          {t('regCancel')}
        </button>
      </div>
    </form>
  );
}
