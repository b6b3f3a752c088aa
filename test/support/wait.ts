/**
 * Polls until `get` gives something (anything but undefined, null or false) and returns it;
 * throws after `timeoutMs`. For outcomes that arrive asynchronously: a metric, a relay count, a
 * syslog datagram.
 */
export async function waitFor<T>(
  get: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs = 5_000,
  intervalMs = 10,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await get();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`condition not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
