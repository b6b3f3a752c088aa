/** Moved to agent/notify/mailer.ts; kept so existing imports keep working. */
export { createMailer, type Mailer } from './notify/mailer.ts';
