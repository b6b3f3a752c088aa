/** storage.local keys, in a file of their own so the content script imports nothing else. */

/** The last good managed policy (known keys only), for when storage.managed cannot be read. */
export const POLICY_CACHE_KEY = 'unlatch.policy';
/** The effective detection rules (admin rules, then built-in), written by the service worker. */
export const RULES_KEY = 'unlatch.rules';
/** The registration nudge from policy (or null), written by the service worker for the content script. */
export const NUDGE_KEY = 'unlatch.nudge';
