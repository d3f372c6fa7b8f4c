/** True when the URL takes one message per request (Segment's `/v1/track`). */
export function isSingleUrl(url: string): boolean {
  try {
    return /\/v1\/track\/?$/.test(new URL(url).pathname);
  } catch {
    return false;
  }
}
