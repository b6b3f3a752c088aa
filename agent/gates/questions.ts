/**
 * Security questions: a built-in, localised set plus the admin's own; answers normalised (so
 * "Müller ", "muller" and "MÜLLER!" are one answer) and kept only as a memory-hard hash:
 * scrypt over an HMAC of the answer under the store's pepper key, with a random salt per answer.
 * A stolen database alone is not enough to try answers offline; with the key too, each guess
 * still costs scrypt's memory and time.
 *
 * Questions are never enough on their own (see ./policy.ts): answers are often guessable or
 * findable, so they only ever add to a possession factor.
 */
import { createHmac, randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export interface QuestionDef {
  id: string;
  /** Text by language (BCP 47 primary tag); `en` is the fallback. */
  text: Record<string, string>;
}

/** Shown in the person's language when we have it, else in English. */
export const BUILT_IN_QUESTIONS: readonly QuestionDef[] = [
  {
    id: 'first-school',
    text: {
      en: 'What was the name of your first school?',
      de: 'Wie hieß Ihre erste Schule?',
      fr: 'Quel était le nom de votre première école ?',
      es: '¿Cómo se llamaba su primera escuela?',
    },
  },
  {
    id: 'childhood-street',
    text: {
      en: 'In which street did you live as a child?',
      de: 'In welcher Straße haben Sie als Kind gewohnt?',
      fr: 'Dans quelle rue habitiez-vous enfant ?',
      es: '¿En qué calle vivía de niño?',
    },
  },
  {
    id: 'first-pet',
    text: {
      en: 'What was the name of your first pet?',
      de: 'Wie hieß Ihr erstes Haustier?',
      fr: 'Comment s’appelait votre premier animal de compagnie ?',
      es: '¿Cómo se llamaba su primera mascota?',
    },
  },
  {
    id: 'first-concert',
    text: {
      en: 'Which band or artist did you see at your first concert?',
      de: 'Welche Band oder welchen Künstler haben Sie bei Ihrem ersten Konzert gesehen?',
      fr: 'Quel groupe ou artiste avez-vous vu à votre premier concert ?',
      es: '¿Qué grupo o artista vio en su primer concierto?',
    },
  },
  {
    id: 'childhood-friend',
    text: {
      en: 'What is the first name of your best friend in childhood?',
      de: 'Wie lautet der Vorname Ihrer besten Freundin oder Ihres besten Freundes aus der Kindheit?',
      fr: 'Quel est le prénom de votre meilleur(e) ami(e) d’enfance ?',
      es: '¿Cuál es el nombre de su mejor amigo o amiga de la infancia?',
    },
  },
  {
    id: 'first-job-town',
    text: {
      en: 'In which town or city was your first job?',
      de: 'In welchem Ort war Ihre erste Arbeitsstelle?',
      fr: 'Dans quelle ville avez-vous eu votre premier emploi ?',
      es: '¿En qué ciudad tuvo su primer trabajo?',
    },
  },
  {
    id: 'favourite-teacher',
    text: {
      en: 'What is the last name of your favourite teacher?',
      de: 'Wie lautet der Nachname Ihrer Lieblingslehrerin oder Ihres Lieblingslehrers?',
      fr: 'Quel est le nom de famille de votre enseignant(e) préféré(e) ?',
      es: '¿Cuál es el apellido de su profesor o profesora favorito?',
    },
  },
  {
    id: 'first-car',
    text: {
      en: 'What was the make and model of your first car?',
      de: 'Welche Marke und welches Modell hatte Ihr erstes Auto?',
      fr: 'Quels étaient la marque et le modèle de votre première voiture ?',
      es: '¿Cuál fue la marca y el modelo de su primer coche?',
    },
  },
];

/** The questions offered: the built-in set (unless switched off) followed by the admin's. */
export function questionCatalogue(custom: readonly QuestionDef[], builtIn: boolean): QuestionDef[] {
  return [...(builtIn ? BUILT_IN_QUESTIONS : []), ...custom];
}

/** The text of a question for `locale` ("de-CH" → de → en → any). */
export function questionText(q: QuestionDef, locale: string | undefined): string {
  const primary = locale?.toLowerCase().split('-')[0];
  return (primary && q.text[primary]) || q.text['en'] || (Object.values(q.text)[0] as string);
}

/**
 * One canonical form per answer: compatibility-decomposed, accents dropped, lower-cased,
 * punctuation turned into spaces and runs of spaces collapsed.
 */
export function normaliseAnswer(answer: string): string {
  return answer
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/ß/g, 'ss')
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

const VERSION = 1;
const SALT_BYTES = 16;
const HASH_BYTES = 32;

function scrypt(password: Buffer, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCb(password, salt, HASH_BYTES, options, (err, key) => (err ? reject(err) : resolve(key))));
}

function scryptOptions(cost: number): ScryptOptions {
  const N = 2 ** cost;
  // scrypt needs 128·N·r bytes; leave room so Node never refuses a configured cost.
  return { N, r: 8, p: 1, maxmem: 256 * N * 8 + 1024 * 1024 };
}

function peppered(pepper: Buffer, questionId: string, normalised: string): Buffer {
  return createHmac('sha256', pepper).update(questionId).update('\0').update(normalised).digest();
}

/** version ‖ cost ‖ salt ‖ scrypt(HMAC(pepper, question ‖ answer), salt). */
export async function hashAnswer(pepper: Buffer, questionId: string, normalised: string, cost: number): Promise<Buffer> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await scrypt(peppered(pepper, questionId, normalised), salt, scryptOptions(cost));
  return Buffer.concat([Buffer.from([VERSION, cost]), salt, hash]);
}

/**
 * Compares an answer with a stored hash. Always spends one scrypt, also for a malformed or
 * missing stored hash (decoys pass `undefined`), so a wrong answer, a decoy and an unknown
 * person cost the same time.
 */
export async function answerMatches(pepper: Buffer, questionId: string, normalised: string, stored: Buffer | undefined, cost: number): Promise<boolean> {
  const ok = stored !== undefined && stored.length === 2 + SALT_BYTES + HASH_BYTES && stored[0] === VERSION;
  const storedCost = ok ? (stored[1] as number) : cost;
  const salt = ok ? stored.subarray(2, 2 + SALT_BYTES) : randomBytes(SALT_BYTES);
  const expected = ok ? stored.subarray(2 + SALT_BYTES) : randomBytes(HASH_BYTES);
  const hash = await scrypt(peppered(pepper, questionId, normalised), salt, scryptOptions(storedCost));
  return timingSafeEqual(hash, expected) && ok;
}
