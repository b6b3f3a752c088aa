/**
 * The strength meter's estimator, loaded only when the password step appears (zxcvbn and its
 * dictionaries are far larger than the rest of the page together). Advisory: the domain's rules
 * decide what is accepted; this only tells a person how guessable their choice is.
 */
import zxcvbn from 'zxcvbn';

/** 0 (very weak) … 4 (very strong). */
export function estimate(password: string, userInputs: string[]): 0 | 1 | 2 | 3 | 4 {
  // zxcvbn's time grows with length; beyond 100 characters the score no longer changes anyway.
  return zxcvbn(password.slice(0, 100), userInputs).score;
}
