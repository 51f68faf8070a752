import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SelfSignedCert {
  key: string;
  cert: string;
}

// Generating a key costs tens of milliseconds; every server in a test run can share one.
let cached: SelfSignedCert | undefined;

/**
 * Self-signed certificate for 127.0.0.1 (SAN IP:127.0.0.1, DNS:localhost, and DNS:*.push.localhost
 * for the names a wildcard allowlist entry admits, see localhost-names.ts).
 * Clients trust it by passing `cert` as their `ca`: a self-signed leaf is its own anchor.
 */
export function makeSelfSignedCert(): SelfSignedCert {
  if (cached) return cached;
  const dir = mkdtempSync(join(tmpdir(), 'depeche-cert-'));
  try {
    const keyPath = join(dir, 'key.pem');
    const certPath = join(dir, 'cert.pem');
    execFileSync(
      '/usr/bin/openssl',
      [
        'req',
        '-x509',
        '-nodes',
        // P-256 keeps generation fast compared with RSA.
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-keyout',
        keyPath,
        '-out',
        certPath,
        '-days',
        '2',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:*.push.localhost',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    cached = { key: readFileSync(keyPath, 'utf8'), cert: readFileSync(certPath, 'utf8') };
    return cached;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
