/**
 * @module
 * Constant-time string comparison for bearer tokens.
 *
 * @example
 * ```ts
 * timingSafeEqualString("abc", "abc"); // true
 * ```
 */
import { timingSafeEqual } from "node:crypto";

/** Compares two strings without leaking where they differ (length is not hidden). */
export function timingSafeEqualString(a: string, b: string): boolean {
  const ea = new TextEncoder().encode(a);
  const eb = new TextEncoder().encode(b);
  if (ea.length !== eb.length) {
    timingSafeEqual(ea, ea);
    return false;
  }
  return timingSafeEqual(ea, eb);
}
