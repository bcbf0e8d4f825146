/**
 * @module
 * The cmesh version and wire protocol number, in one place.
 */

/** The cmesh release version, printed by `cmesh version`. */
export const VERSION = "0.1.0";

/** The worker wire protocol version spoken at `/v1`. */
export const PROTOCOL = 1;
