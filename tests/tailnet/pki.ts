/**
 * @module
 * A throw-away certificate authority and a server certificate for headscale, made with the
 * `openssl` CLI at test time (nothing secret is committed). headscale serves its control API
 * and its embedded DERP relay over TLS with this certificate; tailscaled and the tailscale CLI
 * trust it through `SSL_CERT_FILE=<ca.pem>` (Go's crypto/x509 reads it on Linux), so no
 * system trust store is touched.
 *
 * @example
 * ```ts
 * import { makeTestPki } from "./pki.ts";
 * const pki = await makeTestPki("/tmp/x", "198.18.0.1");
 * pki.caPem; // "/tmp/x/ca.pem"
 * ```
 */
import { join } from "node:path";
import { mustRun } from "../support/proc.ts";

/** Files of the test PKI. */
export interface TestPki {
  caPem: string;
  certPem: string;
  keyPem: string;
}

const OPENSSL = "/usr/bin/openssl";

/**
 * Makes a CA (valid 2 days) and a certificate for `ip` (IP SAN, serverAuth) signed by it.
 * `subjectAltName` replaces the SAN (e.g. `DNS:api.anthropic.com,DNS:api.openai.com`).
 */
export async function makeTestPki(
  dir: string,
  ip: string,
  subjectAltName = `IP:${ip}`,
): Promise<TestPki> {
  await Deno.mkdir(dir, { recursive: true });
  const p = (name: string) => join(dir, name);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await mustRun([
    OPENSSL,
    "req",
    "-x509",
    ...ec,
    "-keyout",
    p("ca.key"),
    "-out",
    p("ca.pem"),
    "-days",
    "2",
    "-subj",
    "/CN=cmesh tailnet test CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  await mustRun([
    OPENSSL,
    "req",
    ...ec,
    "-keyout",
    p("headscale.key"),
    "-out",
    p("headscale.csr"),
    "-subj",
    `/CN=${ip}`,
  ]);
  await Deno.writeTextFile(
    p("headscale.ext"),
    `subjectAltName=${subjectAltName}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`,
  );
  await mustRun([
    OPENSSL,
    "x509",
    "-req",
    "-in",
    p("headscale.csr"),
    "-CA",
    p("ca.pem"),
    "-CAkey",
    p("ca.key"),
    "-CAcreateserial",
    "-out",
    p("headscale.pem"),
    "-days",
    "2",
    "-extfile",
    p("headscale.ext"),
  ]);
  return { caPem: p("ca.pem"), certPem: p("headscale.pem"), keyPem: p("headscale.key") };
}
