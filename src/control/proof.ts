/**
 * @module
 * Proof of the control token in both directions, so neither side hands it to the other. The CLI
 * and `cmesh mcp` used to send `Authorization: Bearer <token>` to `127.0.0.1:<control_port>`:
 * while the daemon was down, another local user listening on that port could read the prompts
 * sent to it and answer with made-up results. Now:
 *
 * - the client sends `Authorization: Cmesh-HMAC ts=<unix s>, nonce=<hex>, mac=<hex>`, the mac an
 *   HMAC-SHA256 with the token over the time, a fresh nonce, the method and the path (the token
 *   itself is never sent; a mac made with it is useless once the daemon restarts, since it writes
 *   a new token at every start);
 * - the daemon, once that mac checks out, proves it holds the token too: `X-Cmesh-Proof` on its
 *   answer is an HMAC with the token over the client's nonce, which no other process can make;
 * - the client reads no answer without that proof, and before it sends a body it asks for a proof
 *   first (`GET /v1/proof`), so a prompt never goes to a process that cannot show one.
 *
 * `Authorization: Bearer <token>` is still accepted (scripts, `curl`); such answers carry no proof.
 *
 * @example
 * ```ts
 * import { daemonProof, signRequest, verifyRequest } from "./proof.ts";
 * const token = "tok_0123456789abcdefghij";
 * const { header, nonce } = signRequest(token, "GET", "/v1/status");
 * verifyRequest(token, header, "GET", "/v1/status").ok; // true
 * daemonProof(token, nonce); // the X-Cmesh-Proof value the client checks
 * ```
 */
import { createHmac } from "node:crypto";
import { timingSafeEqualString } from "../util/timing_safe.ts";

/** The header the daemon's proof travels in. */
export const PROOF_HEADER = "x-cmesh-proof";
/** How far a request's time may be from the daemon's clock. */
export const MAX_SKEW_S = 120;

const SCHEME = "Cmesh-HMAC";
/** HMAC-SHA256 in hex. `node:crypto`'s, synchronous: both sides make two per request. */
function hmacHex(token: string, text: string): string {
  return createHmac("sha256", token).update(text).digest("hex");
}

const requestText = (ts: number, nonce: string, method: string, path: string) =>
  `cmesh-control-request-v1\n${ts}\n${nonce}\n${method.toUpperCase()}\n${path}`;

/** The mac of a request (see the module doc). */
export function requestMac(
  token: string,
  ts: number,
  nonce: string,
  method: string,
  path: string,
): string {
  return hmacHex(token, requestText(ts, nonce, method, path));
}

/** The daemon's proof for a request's nonce (the `X-Cmesh-Proof` value). */
export function daemonProof(token: string, nonce: string): string {
  return hmacHex(token, `cmesh-control-daemon-v1\n${nonce}`);
}

/** Client side: the `Authorization` value for a request, and the nonce its proof answers. */
export function signRequest(
  token: string,
  method: string,
  path: string,
  now: number = Date.now(),
): { header: string; nonce: string } {
  const ts = Math.floor(now / 1000);
  const nonce = Array.from(
    crypto.getRandomValues(new Uint8Array(16)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
  return {
    header: `${SCHEME} ts=${ts}, nonce=${nonce}, mac=${
      requestMac(
        token,
        ts,
        nonce,
        method,
        path,
      )
    }`,
    nonce,
  };
}

/** A `Cmesh-HMAC` authorization's parts, or null when it is not one (or malformed). */
export function parseSigned(header: string): { ts: number; nonce: string; mac: string } | null {
  const m = /^Cmesh-HMAC ts=(\d{1,12}), nonce=([0-9a-f]{32}), mac=([0-9a-f]{64})$/.exec(header);
  return m ? { ts: Number(m[1]), nonce: m[2], mac: m[3] } : null;
}

/**
 * Daemon side: whether `header` is a `Cmesh-HMAC` authorization made with `token` for this
 * method and path, within {@link MAX_SKEW_S} of now; with its nonce when it is.
 */
export function verifyRequest(
  token: string,
  header: string,
  method: string,
  path: string,
  now: number = Date.now(),
): { ok: true; nonce: string } | { ok: false; reason: string } {
  const p = parseSigned(header);
  if (p === null) return { ok: false, reason: "not a Cmesh-HMAC authorization" };
  if (Math.abs(Math.floor(now / 1000) - p.ts) > MAX_SKEW_S) {
    return { ok: false, reason: `its time is more than ${MAX_SKEW_S} s from this machine's clock` };
  }
  const want = requestMac(token, p.ts, p.nonce, method, path);
  return timingSafeEqualString(p.mac, want)
    ? { ok: true, nonce: p.nonce }
    : { ok: false, reason: "its mac was not made with this daemon's control token" };
}

/** Client side: whether an answer's proof header shows the token for `nonce`. */
export function proofHolds(token: string, nonce: string, proof: string | null): boolean {
  if (proof === null || !/^[0-9a-f]{64}$/.test(proof)) return false;
  return timingSafeEqualString(proof, daemonProof(token, nonce));
}
