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
 * - the client reads no answer without that proof;
 * - a body (a prompt) is sealed to the token: AES-256-GCM under a key made with the token from the
 *   request's nonce, the method and path bound in (`Content-Type: application/vnd.cmesh.sealed`).
 *   A process that cannot show the proof cannot read it either, and no extra round trip is spent
 *   asking for a proof first (as `GET /v1/proof`, still served, did before every body).
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
 * const body = new TextEncoder().encode('{"prompt":"hi"}');
 * const sealed = sealBody(token, nonce, "POST", "/v1/delegate", body);
 * unsealBody(token, nonce, "POST", "/v1/delegate", sealed); // the same bytes
 * ```
 */
import { createCipheriv, createDecipheriv, createHmac } from "node:crypto";
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

/** The media type of a sealed body. */
export const SEALED_TYPE = "application/vnd.cmesh.sealed";
/** What sealing adds to a body: the 12-byte IV before it and the 16-byte tag after it. */
export const SEAL_OVERHEAD = 28;

/** The body key of one request: an HMAC with the token over its nonce (32 bytes). */
function bodyKey(token: string, nonce: string): Uint8Array {
  return createHmac("sha256", token).update(`cmesh-control-body-v1\n${nonce}`).digest();
}

const bodyAad = (method: string, path: string) =>
  new TextEncoder().encode(`${method.toUpperCase()}\n${path}`);

/** Client side: `body` sealed for one request (IV, ciphertext, tag). */
export function sealBody(
  token: string,
  nonce: string,
  method: string,
  path: string,
  body: Uint8Array,
): Uint8Array<ArrayBuffer> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const cipher = createCipheriv("aes-256-gcm", bodyKey(token, nonce), iv);
  cipher.setAAD(bodyAad(method, path));
  const head = cipher.update(body);
  const tail = cipher.final();
  const out = new Uint8Array(12 + head.length + tail.length + 16);
  out.set(iv, 0);
  out.set(head, 12);
  out.set(tail, 12 + head.length);
  out.set(cipher.getAuthTag(), out.length - 16);
  return out;
}

/**
 * Daemon side: the body a request sealed with `token` for this nonce, method and path, or null
 * when it was not (another token, request or a changed byte).
 */
export function unsealBody(
  token: string,
  nonce: string,
  method: string,
  path: string,
  sealed: Uint8Array,
): Uint8Array<ArrayBuffer> | null {
  if (sealed.length < SEAL_OVERHEAD) return null;
  try {
    const decipher = createDecipheriv(
      "aes-256-gcm",
      bodyKey(token, nonce),
      sealed.subarray(0, 12),
    );
    decipher.setAAD(bodyAad(method, path));
    decipher.setAuthTag(sealed.subarray(sealed.length - 16));
    const head = decipher.update(sealed.subarray(12, sealed.length - 16));
    const tail = decipher.final();
    const out = new Uint8Array(head.length + tail.length);
    out.set(head, 0);
    out.set(tail, head.length);
    return out;
  } catch {
    return null;
  }
}
