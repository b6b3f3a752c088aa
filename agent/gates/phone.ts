/**
 * Phone numbers for SMS and voice codes: parsed into E.164 with their country (libphonenumber
 * metadata tells +1 202… USA from +1 876… Jamaica), and held to the admin's country allow-list —
 * the first defence against SMS pumping (premium-rate ranges abroad), with the per-tenant daily
 * cap and "only numbers on file" the others.
 */
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';

export interface ParsedPhone {
  /** +4915112345678 */
  e164: string;
  /** ISO 3166 alpha-2, e.g. DE; undefined when the number is valid for no single country. */
  country: string | undefined;
}

/** The number as E.164 with its country, or null when it is not a valid phone number. */
export function parsePhone(raw: string, defaultCountry?: string): ParsedPhone | null {
  if (typeof raw !== 'string' || raw.length > 64) return null;
  const parsed = parsePhoneNumberFromString(raw, defaultCountry ? { defaultCountry: defaultCountry as CountryCode } : undefined);
  if (!parsed || !parsed.isValid()) return null;
  return { e164: parsed.number, country: parsed.country };
}

/** A number may receive codes when its country is on the allow-list (an empty list allows none). */
export function countryAllowed(phone: ParsedPhone, allowList: readonly string[]): boolean {
  return phone.country !== undefined && allowList.includes(phone.country);
}
