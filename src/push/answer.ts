// Reading a push service's answer: the bits of it we keep (Retry-After, the start of its body).

/** Bytes of an answer's body kept for its reason: every service's explanation fits. */
const KEPT_BODY_BYTES = 512;

/** Collects the first KEPT_BODY_BYTES of a body, decoded once at the end. */
export class BodyHead {
  private readonly parts: Buffer[] = [];
  private kept = 0;
  add(chunk: Buffer): void {
    if (this.kept >= KEPT_BODY_BYTES) return;
    const part = chunk.subarray(0, KEPT_BODY_BYTES - this.kept);
    this.parts.push(part);
    this.kept += part.length;
  }
  text(): string {
    return this.kept === 0 ? '' : Buffer.concat(this.parts).toString('utf8');
  }
}

/**
 * A header's value as received: typed as a string for Retry-After, but a peer may repeat a header,
 * and then the first one counts.
 */
export function firstValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** Retry-After is either delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(v: string | undefined, now = Date.now()): number | undefined {
  if (!v) return undefined;
  const s = v.trim();
  if (/^\d+$/.test(s)) return Number(s) * 1000;
  const at = Date.parse(s);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
