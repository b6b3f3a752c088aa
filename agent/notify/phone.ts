/**
 * SMS and voice codes through the organisation's HTTP gateway: a JSON webhook whose body and
 * headers are templates the admin writes for their provider, e.g.
 *
 *   gateway:
 *     url: https://api.sms.example/v1/messages
 *     headers: { Authorization: "Bearer {{secret}}" }
 *     body: { to: "{{to}}", text: "{{message}}", type: "{{channel}}" }
 *     secret: { file: /etc/unlatch/sms.secret }
 *
 * Every string in `body` and `headers` may use {{to}} (E.164), {{code}}, {{message}} (the
 * rendered smsText/voiceText), {{channel}} (sms|voice), {{locale}}, {{minutes}} and {{secret}}.
 * Values are substituted into the parsed template and the result serialised with
 * JSON.stringify, so no value can break out of its string. A 2xx answer means sent.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';

export interface GatewaySettings {
  url: string;
  method: 'POST' | 'PUT';
  headers: Record<string, string>;
  body: unknown;
  caFile?: string | undefined;
  timeoutMs: number;
  smsText: string;
  voiceText: string;
}

export interface PhoneSender {
  send(channel: 'sms' | 'voice', to: string, code: string, ttlMinutes: number, locale: string | undefined): Promise<void>;
}

/** Replaces {{name}} in every string of `template` (recursively); unknown names become ''. */
export function renderTemplate(template: unknown, vars: Record<string, string>): unknown {
  if (typeof template === 'string') return template.replace(/\{\{\s*([a-z]+)\s*\}\}/g, (_, name: string) => vars[name] ?? '');
  if (Array.isArray(template)) return template.map((t) => renderTemplate(t, vars));
  if (template && typeof template === 'object') {
    return Object.fromEntries(Object.entries(template).map(([k, v]) => [k, renderTemplate(v, vars)]));
  }
  return template;
}

export function createPhoneSender(settings: GatewaySettings, secret: string | undefined): PhoneSender {
  const url = new URL(settings.url);
  const ca = settings.caFile ? readFileSync(settings.caFile, 'utf8') : undefined;
  return {
    async send(channel, to, code, ttlMinutes, locale) {
      // Spoken codes are read digit by digit.
      const spoken = channel === 'voice' ? code.split('').join(' ') : code;
      const base = { to, code: spoken, channel, locale: locale ?? 'en', minutes: String(ttlMinutes) };
      const message = renderTemplate(channel === 'voice' ? settings.voiceText : settings.smsText, base) as string;
      const vars = { ...base, message, secret: secret ?? '' };
      const body = JSON.stringify(renderTemplate(settings.body ?? { to: '{{to}}', message: '{{message}}', channel: '{{channel}}' }, vars));
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      for (const [name, value] of Object.entries(settings.headers)) {
        const v = renderTemplate(value, vars) as string;
        if (/[\r\n]/.test(v)) throw new Error(`SMS gateway: header ${name} would contain a line break`);
        headers[name.toLowerCase()] = v;
      }
      headers['content-length'] = String(Buffer.byteLength(body));
      await post(url, settings.method, headers, body, settings.timeoutMs, ca);
    },
  };
}

function post(url: URL, method: string, headers: Record<string, string>, body: string, timeoutMs: number, ca: string | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = request(url, { method, headers, timeout: timeoutMs, ...(ca ? { ca } : {}) }, (res) => {
      res.resume();
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        // The status only: a provider's error body may echo the message, which holds the code.
        if (status >= 200 && status < 300) resolve();
        else reject(new Error(`SMS gateway answered HTTP ${status}`));
      });
    });
    req.on('timeout', () => req.destroy(new Error(`SMS gateway did not answer within ${timeoutMs} ms`)));
    req.on('error', (err) => reject(new Error(`SMS gateway: ${err.message}`)));
    req.end(body);
  });
}
