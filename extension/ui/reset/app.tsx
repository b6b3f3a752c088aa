/**
 * The reset page: user id → proof of work → gates → new password, change or unlock → result.
 * State lives in lib/reset-flow.ts; this file only renders it. Accessibility: every step has a
 * heading that takes focus when the step changes (so screen readers announce it), every field
 * a visible label, errors are role="alert" and tied to their field with aria-describedby.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { Action, GateView } from '../../../protocol/messages.ts';
import { displayHint } from '../../lib/mask.ts';
import type { ResetPageParams } from '../../lib/messages.ts';
import { accountName, checkPassword } from '../../lib/password-rules.ts';
import { openGates, ResetFlow, type FlowState, type GatesStep, type OpenSession } from '../../lib/reset-flow.ts';
import type { Outcome } from '../../lib/rules.ts';
import type { SettingKey, Settings } from '../../lib/settings.ts';
import { ErrorMessage, Shell, Unconfigured, useDocumentTitle } from '../common.tsx';
import { t } from '../i18n.ts';
import { closeAndReturn } from './navigation.ts';

interface Props {
  settings: Settings;
  missing: SettingKey[];
  params: ResetPageParams;
  open: OpenSession;
  locale?: string;
}

/** Methods whose code (or questions) the agent sends on request; totp codes come from the app. */
const SEND_METHODS = new Set(['email', 'sms', 'voice', 'questions']);

function defaultAction(outcome: Outcome | undefined): Action {
  return outcome === 'expired' || outcome === 'must_change' ? 'change' : 'reset';
}

export function ResetApp({ settings, missing, params, open, locale }: Props) {
  const unconfigured = missing.includes('relayUrl') || missing.includes('tenant');
  const flow = useMemo(
    () =>
      new ResetFlow({
        open,
        ...(locale ? { locale } : {}),
        userId: params.user ?? '',
        action: defaultAction(params.outcome),
        ...(!unconfigured && missing.includes('signingKeyPin') ? { initialError: { code: 'KEY_PIN_MISSING' as const } } : {}),
      }),
    [],
  );
  const [state, setState] = useState<FlowState>(flow.state);
  useEffect(() => {
    const off = flow.subscribe(setState);
    return () => {
      off();
      flow.dispose();
    };
  }, []);

  const heading = useRef<HTMLHeadingElement>(null);
  const firstRender = useRef(true);
  useEffect(() => {
    // Move focus to the new step's heading so keyboard and screen-reader users land on it.
    if (firstRender.current) {
      firstRender.current = false;
      return;
    }
    heading.current?.focus();
  }, [state.step.kind]);

  const title = unconfigured ? t('unconfiguredTitle') : titleFor(state);
  useDocumentTitle(title, settings);

  if (unconfigured) return <Unconfigured settings={settings} missing={missing} />;

  const step = state.step;

  return (
    <Shell settings={settings}>
      <Progress state={state} />
      <h1 ref={heading} tabIndex={-1}>
        {title}
      </h1>
      {step.kind === 'identify' ? <Identify state={state} flow={flow} settings={settings} outcome={params.outcome} /> : null}
      {step.kind === 'connecting' ? <Connecting progress={step.progress} /> : null}
      {step.kind === 'gates' ? <Gates state={state} step={step} flow={flow} /> : null}
      {step.kind === 'password' ? <PasswordStep state={state} mode={step.mode} flow={flow} /> : null}
      {step.kind === 'done' ? <Done action={step.action} params={params} /> : null}
      {step.kind === 'failed' ? (
        <div class="step">
          <ErrorMessage view={step.error} />
          <button type="button" class="primary" onClick={() => flow.restart()}>
            {t('startAgain')}
          </button>
        </div>
      ) : null}
    </Shell>
  );
}

function titleFor(state: FlowState): string {
  const step = state.step;
  switch (step.kind) {
    case 'identify':
      return t('identifyTitle');
    case 'connecting':
      return t('connectingTitle');
    case 'gates':
      return t('verifyTitle');
    case 'password':
      return step.mode === 'change' ? t('passwordTitleChange') : t('passwordTitleReset');
    case 'done':
      return t('doneTitle');
    case 'failed':
      return t('failedTitle');
  }
}

const STAGES = ['stageIdentify', 'stageVerify', 'stagePassword', 'stageDone'] as const;

function Progress({ state }: { state: FlowState }) {
  const kind = state.step.kind;
  if (kind === 'failed') return null;
  const current = kind === 'identify' ? 0 : kind === 'connecting' || kind === 'gates' ? 1 : kind === 'password' ? 2 : 3;
  return (
    <nav aria-label={t('progressNav')}>
      <ol class="stages">
        {STAGES.map((key, i) => (
          <li key={key} class={i < current ? 'past' : i === current ? 'current' : ''} aria-current={i === current ? 'step' : undefined}>
            {t(key)}
          </li>
        ))}
      </ol>
    </nav>
  );
}

function Identify({ state, flow, settings, outcome }: { state: FlowState; flow: ResetFlow; settings: Settings; outcome: Outcome | undefined }) {
  const [user, setUser] = useState(state.userId);
  const [action, setAction] = useState<Action>(state.action);
  const [missingUser, setMissingUser] = useState(false);
  const actions: Action[] = ['reset'];
  if (outcome !== 'locked') actions.push('change');
  if (settings.allowUnlock && outcome !== 'expired' && outcome !== 'must_change') actions.push('unlock');
  const chosen = actions.includes(action) ? action : 'reset';
  const intro = outcome === 'expired' ? 'introExpired' : outcome === 'must_change' ? 'introMustChange' : outcome === 'locked' ? 'introLocked' : 'introGeneric';
  const submit = (ev: Event) => {
    ev.preventDefault();
    if (!user.trim()) {
      setMissingUser(true);
      document.getElementById('user')?.focus();
      return;
    }
    void flow.begin(user, chosen);
  };
  return (
    <form class="step" onSubmit={submit} noValidate>
      <p>{t(intro)}</p>
      <div class="field">
        <label for="user">{t('userLabel')}</label>
        <input
          id="user"
          name="username"
          type="text"
          autoComplete="username"
          autoCapitalize="none"
          spellcheck={false}
          autoFocus
          value={user}
          maxLength={256}
          aria-describedby={missingUser ? 'user-hint user-error' : 'user-hint'}
          aria-invalid={missingUser ? 'true' : undefined}
          onInput={(e) => {
            setUser(e.currentTarget.value);
            setMissingUser(false);
          }}
        />
        <p class="hint" id="user-hint">
          {t('userHint')}
        </p>
        {missingUser ? (
          <p class="field-error" id="user-error" role="alert">
            {t('userMissing')}
          </p>
        ) : null}
      </div>
      {actions.length > 1 ? (
        <fieldset>
          <legend>{t('actionLegend')}</legend>
          {actions.map((a) => (
            <div class="choice" key={a}>
              <input type="radio" id={`action-${a}`} name="action" value={a} checked={chosen === a} onChange={() => setAction(a)} />
              <label for={`action-${a}`}>{t(`action_${a}`)}</label>
            </div>
          ))}
        </fieldset>
      ) : null}
      <button type="submit" class="primary">
        {t('continue')}
      </button>
    </form>
  );
}

function Connecting({ progress }: { progress: number }) {
  const percent = Math.round(progress * 100);
  return (
    <div class="step">
      <p id="pow-text">{t('connectingText')}</p>
      <progress id="pow" max={100} value={percent} aria-labelledby="pow-label" aria-describedby="pow-text" />
      <p id="pow-label" class="hint" aria-live="polite">
        {progress >= 1 ? t('connectingAgent') : t('powProgress', percent)}
      </p>
    </div>
  );
}

function gateLabel(gate: GateView): string {
  const hint = displayHint(gate.method, gate.hint);
  return t(`gate_${gate.method}`, hint);
}

/** The current time, ticking every second while `active`. */
function useNow(active: boolean): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!active) return undefined;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [active]);
  return now;
}

function Gates({ state, step, flow }: { state: FlowState; step: GatesStep; flow: ResetFlow }) {
  const open = openGates(step);
  const gate = open.find((g) => g.id === step.selected) ?? open[0];
  const [code, setCode] = useState('');
  const [answers, setAnswers] = useState<string[]>([]);
  const sentUntil = gate ? step.sent[gate.id] : undefined;
  const needsSend = gate ? SEND_METHODS.has(gate.method) : false;
  const isQuestions = gate?.method === 'questions';
  const questions = gate ? step.questions[gate.id] : undefined;
  const now = useNow(sentUntil !== undefined && sentUntil > Date.now());
  const codeInput = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (sentUntil !== undefined) codeInput.current?.focus();
  }, [sentUntil]);
  useEffect(() => {
    setCode('');
    setAnswers([]);
  }, [gate?.id, step.passed.length]);
  useEffect(() => {
    // A refused code: back to the field, selected, so it can be typed again at once.
    if (state.notice) codeInput.current?.select();
  }, [state.notice]);
  if (!gate) return null;
  const remaining = Math.max(0, step.required - step.passed.length);
  const ready = !needsSend || sentUntil !== undefined;
  const wait = sentUntil !== undefined ? Math.max(0, Math.ceil((sentUntil - now) / 1000)) : 0;
  const canResend = needsSend && !isQuestions;
  const submit = (ev: Event) => {
    ev.preventDefault();
    if (isQuestions) void flow.answer(gate.id, (questions ?? []).map((_, i) => answers[i] ?? ''));
    else void flow.verify(gate.id, code);
  };
  return (
    <div class="step">
      <p>{t('verifyIntro', remaining)}</p>
      {step.passed.length > 0 ? (
        <ul class="passed">
          {step.gates
            .filter((g) => step.passed.includes(g.id))
            .map((g) => (
              <li key={g.id}>{t('gatePassed', gateLabel(g))}</li>
            ))}
        </ul>
      ) : null}
      {open.length > 1 ? (
        <fieldset>
          <legend>{t('gateLegend')}</legend>
          {open.map((g) => (
            <div class="choice" key={g.id}>
              <input type="radio" id={`gate-${g.id}`} name="gate" checked={g.id === gate.id} onChange={() => flow.select(g.id)} />
              <label for={`gate-${g.id}`}>{gateLabel(g)}</label>
            </div>
          ))}
        </fieldset>
      ) : (
        <p class="gate-only">{gateLabel(gate)}</p>
      )}
      {needsSend && sentUntil === undefined ? (
        <button type="button" class="primary" disabled={state.busy} onClick={() => void flow.send(gate.id)}>
          {isQuestions ? t('showQuestions') : t('sendCode')}
        </button>
      ) : null}
      {sentUntil !== undefined && !isQuestions ? (
        <p role="status" class="sent">
          {t('codeSent', displayHint(gate.method, gate.hint))}
        </p>
      ) : null}
      {ready ? (
        <form onSubmit={submit} noValidate>
          {isQuestions ? (
            (questions ?? []).map((q, i) => (
              <div class="field" key={q.id}>
                <label for={`answer-${i}`}>{q.text}</label>
                <input
                  id={`answer-${i}`}
                  ref={i === 0 ? codeInput : undefined}
                  type="text"
                  autoComplete="off"
                  spellcheck={false}
                  maxLength={256}
                  value={answers[i] ?? ''}
                  aria-invalid={state.notice ? 'true' : undefined}
                  aria-describedby={state.notice ? 'step-error' : undefined}
                  onInput={(e) => {
                    const next = [...answers];
                    next[i] = e.currentTarget.value;
                    setAnswers(next);
                  }}
                />
              </div>
            ))
          ) : (
            <div class="field">
              <label for="code">{t('codeLabel')}</label>
              <input
                id="code"
                ref={codeInput}
                name="code"
                type="text"
                autoComplete="one-time-code"
                inputMode="numeric"
                spellcheck={false}
                maxLength={64}
                value={code}
                aria-invalid={state.notice ? 'true' : undefined}
                aria-describedby={state.notice ? 'step-error' : undefined}
                onInput={(e) => setCode(e.currentTarget.value)}
              />
            </div>
          )}
          {state.notice ? <ErrorMessage view={state.notice} id="step-error" /> : null}
          <div class="buttons">
            <button type="submit" class="primary" disabled={state.busy || (isQuestions ? false : !code.trim())}>
              {t('verify')}
            </button>
            {canResend ? (
              <button type="button" disabled={state.busy || wait > 0} onClick={() => void flow.send(gate.id)}>
                {t('resend')}
              </button>
            ) : null}
          </div>
          {canResend && wait > 0 ? <p class="hint">{t('resendIn', wait)}</p> : null}
        </form>
      ) : state.notice ? (
        <ErrorMessage view={state.notice} id="step-error" />
      ) : null}
    </div>
  );
}

type StrengthModule = typeof import('../strength.ts');

/** Loads the strength estimator when the password step first appears. */
function useStrength(): StrengthModule | undefined {
  const [mod, setMod] = useState<StrengthModule | undefined>(undefined);
  useEffect(() => {
    let live = true;
    import('../strength.ts').then(
      (m) => live && setMod(() => m),
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, []);
  return mod;
}

const STRENGTH = ['strength0', 'strength1', 'strength2', 'strength3', 'strength4'] as const;

function PasswordStep({ state, mode, flow }: { state: FlowState; mode: 'reset' | 'change'; flow: ResetFlow }) {
  const step = state.step;
  const policy = step.kind === 'password' ? step.policy : undefined;
  const [oldPw, setOldPw] = useState('');
  const [pw, setPw] = useState('');
  const [confirm, setConfirm] = useState('');
  const [show, setShow] = useState(false);
  const [mismatch, setMismatch] = useState(false);
  const strength = useStrength();
  const newInput = useRef<HTMLInputElement>(null);
  const confirmInput = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (state.notice) newInput.current?.focus();
  }, [state.notice]);
  if (!policy) return null;
  const check = checkPassword(pw, policy, state.userId);
  const score = strength && pw ? strength.estimate(pw, [state.userId, accountName(state.userId)]) : undefined;
  // preact's types only allow literal input types; both values are valid here.
  const type = (show ? 'text' : 'password') as 'password';
  const submit = (ev: Event) => {
    ev.preventDefault();
    if (pw !== confirm) {
      setMismatch(true);
      confirmInput.current?.focus();
      return;
    }
    void flow.submitPassword(pw, mode === 'change' ? oldPw : undefined);
  };
  const describedBy = ['pw-rules', 'pw-strength', state.notice ? 'step-error' : ''].filter(Boolean).join(' ');
  return (
    <form class="step" onSubmit={submit} noValidate>
      {mode === 'change' ? (
        <div class="field">
          <label for="old-password">{t('currentPasswordLabel')}</label>
          <input
            id="old-password"
            name="current-password"
            type={type}
            autoComplete="current-password"
            value={oldPw}
            onInput={(e) => setOldPw(e.currentTarget.value)}
          />
        </div>
      ) : null}
      <div class="field">
        <label for="new-password">{t('newPasswordLabel')}</label>
        <input
          id="new-password"
          ref={newInput}
          name="new-password"
          type={type}
          autoComplete="new-password"
          value={pw}
          aria-describedby={describedBy}
          aria-invalid={state.notice ? 'true' : undefined}
          onInput={(e) => setPw(e.currentTarget.value)}
        />
      </div>
      <div id="pw-rules" class="rules">
        <p class="rules-title">{t('rulesTitle')}</p>
        <ul>
          {check.checks.map((c) => (
            <li key={c.id} class={pw ? (c.ok ? 'ok' : 'bad') : ''} data-rule={c.id}>
              <span aria-hidden="true">{pw ? (c.ok ? '✓ ' : '✗ ') : '• '}</span>
              {c.id === 'length' ? t('rule_length', policy.minLength) : t(`rule_${c.id}`)}
              {pw ? <span class="sr-only">{c.ok ? t('ruleMet') : t('ruleNotMet')}</span> : null}
            </li>
          ))}
          {policy.historyLength > 0 ? (
            <li class="info" data-rule="history">
              <span aria-hidden="true">• </span>
              {t('rule_history', policy.historyLength)}
            </li>
          ) : null}
          {policy.minAgeSeconds > 0 ? (
            <li class="info" data-rule="min_age">
              <span aria-hidden="true">• </span>
              {t('rule_min_age', Math.ceil(policy.minAgeSeconds / 3600))}
            </li>
          ) : null}
        </ul>
      </div>
      <div id="pw-strength" class="strength">
        <label for="pw-meter">{t('strengthLabel')}</label>{' '}
        <meter id="pw-meter" min={0} max={4} low={2} high={3} optimum={4} value={score ?? 0} aria-valuetext={score === undefined ? '' : t(STRENGTH[score])} />{' '}
        <span>{score === undefined ? '' : t(STRENGTH[score])}</span>
      </div>
      <div class="field">
        <label for="confirm-password">{t('confirmPasswordLabel')}</label>
        <input
          id="confirm-password"
          ref={confirmInput}
          name="confirm-password"
          type={type}
          autoComplete="new-password"
          value={confirm}
          aria-invalid={mismatch ? 'true' : undefined}
          aria-describedby={mismatch ? 'mismatch' : undefined}
          onInput={(e) => {
            setConfirm(e.currentTarget.value);
            setMismatch(false);
          }}
        />
        {mismatch ? (
          <p class="field-error" id="mismatch" role="alert">
            {t('mismatch')}
          </p>
        ) : null}
      </div>
      <div class="choice">
        <input type="checkbox" id="show-passwords" checked={show} onChange={(e) => setShow(e.currentTarget.checked)} />
        <label for="show-passwords">{t('showPasswords')}</label>
      </div>
      {state.notice ? <ErrorMessage view={state.notice} id="step-error" /> : null}
      <button type="submit" class="primary" disabled={state.busy}>
        {state.busy ? t('working') : mode === 'change' ? t('submitChange') : t('submitReset')}
      </button>
    </form>
  );
}

function Done({ action, params }: { action: Action; params: ResetPageParams }) {
  return (
    <div class="step">
      <p role="status" class="success" data-action={action}>
        {t(action === 'unlock' ? 'doneUnlock' : 'doneChanged')}
      </p>
      <p>{t(action === 'unlock' ? 'nextUnlock' : 'nextChanged')}</p>
      <button type="button" class="primary" onClick={() => void closeAndReturn(params.tab)}>
        {params.tab !== undefined ? t('backToSignIn') : t('close')}
      </button>
    </div>
  );
}
