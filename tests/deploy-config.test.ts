// What an operator deploys from: the compose file ships no usable secret and publishes ports on
// 127.0.0.1 only; start-up refuses published placeholders; `npm run keys` prints values start-up
// accepts; links follow PORT unless PUBLIC_BASE_URL says otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadConfig } from '../src/config';

const SECRET_NAME = /TOKEN|SECRET|PASSWORD|PRIVATE_KEY|_PASS\b|AUTH/;

test('docker-compose.yml gives no secret a default value and publishes ports on 127.0.0.1 unless told otherwise', () => {
  const yml = readFileSync('docker-compose.yml', 'utf8');
  // ${NAME:-default}, ${NAME-default}, ${NAME:=default}: any non-empty default of a secret is a published secret.
  for (const m of yml.matchAll(/\$\{([A-Z0-9_]+)(:?[-=])([^}]*)\}/g)) {
    if (SECRET_NAME.test(m[1])) assert.equal(m[3], '', `${m[1]} defaults to "${m[3]}"`);
  }
  // A secret written as a literal value (NAME: value) is just as published.
  for (const m of yml.matchAll(/^\s*([A-Z0-9_]+):\s*(.+)$/gm)) {
    if (SECRET_NAME.test(m[1])) assert.match(m[2], /^\$\{/, `${m[1]} is set to a literal in the compose file`);
  }
  for (const name of ['EDITOR_TOKENS', 'SECRETS_KEY'])
    assert.match(yml, new RegExp(`\\$\\{${name}:\\?[^}]+\\}`), `${name} is not required`);
  const ports = [...yml.matchAll(/^\s*-\s*"([^"]*:\d+:\d+)"/gm)].map((m) => m[1]);
  assert.ok(ports.length >= 2);
  for (const p of ports) assert.match(p, /^(127\.0\.0\.1|\$\{PUBLISH_ADDRESS:-127\.0\.0\.1\}):/, `port ${p} is open to every interface`);
  assert.doesNotMatch(yml, /npx|tsx/, 'the compose file runs the compiled build');
});

test('.env.example leaves every secret empty', () => {
  for (const line of readFileSync('.env.example', 'utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m && SECRET_NAME.test(m[1])) assert.equal(m[2], '', `${m[1]} has a value in .env.example`);
  }
});

test('start-up refuses a secret on the list of published placeholders, with one line naming the variable', () => {
  const cases: [Record<string, string>, string][] = [
    [{ EDITOR_TOKENS: 'admin:change-me-please-0123456789:chief' }, 'EDITOR_TOKENS'],
    [{ TOKEN_SECRET: 'change-me-to-a-long-random-secret-0123456789' }, 'TOKEN_SECRET'],
    [{ SECRETS_KEY: 'replace-me-with-32-random-characters-please' }, 'SECRETS_KEY'],
    [{ EDITOR_TOKENS: 'chef:<your-token-here>:chief' }, 'EDITOR_TOKENS'],
  ];
  for (const [env, name] of cases) {
    assert.throws(
      () => loadConfig(env),
      (err: Error) => {
        assert.match(err.message, new RegExp(`^configuration: ${name} holds a placeholder value`));
        assert.ok(!err.message.includes('\n'));
        return true;
      },
    );
  }
});

test('npm run keys prints a VAPID pair, a token secret, a secrets key and an editor token that start-up accepts', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/keys.ts'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  const env = Object.fromEntries(
    r.stdout
      .split('\n')
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  assert.deepEqual(Object.keys(env).sort(), ['EDITOR_TOKENS', 'SECRETS_KEY', 'TOKEN_SECRET', 'VAPID_PRIVATE_KEY', 'VAPID_PUBLIC_KEY']);
  const config = loadConfig(env);
  assert.equal(config.push.vapid.publicKey, env.VAPID_PUBLIC_KEY);
  assert.equal(config.editors![0].role, 'chief');
  assert.notEqual(
    spawnSync(process.execPath, ['--import', 'tsx', 'src/keys.ts'], { encoding: 'utf8' }).stdout,
    r.stdout,
    'two runs print the same values',
  );
});

test('PUBLIC_BASE_URL defaults to http://localhost:<PORT>', () => {
  assert.equal(loadConfig({ PORT: '3900' }).http.publicBaseUrl, 'http://localhost:3900');
  assert.equal(loadConfig({}).http.publicBaseUrl, 'http://localhost:3000');
  assert.equal(
    loadConfig({ PORT: '3900', PUBLIC_BASE_URL: 'https://alertes.example.fr/' }).http.publicBaseUrl,
    'https://alertes.example.fr',
  );
});
