// The pieces of an email that need no server: French typography and dates, address validation,
// SMTP error classification, configuration, and the once-per-alert rendering.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dateFormatter, frenchDate, frenchTypography } from '../src/email/french';
import { asciiAddress, emailProblem } from '../src/email/address';
import { wrapText } from '../src/email/text';
import { classifySmtpError } from '../src/channels/email';
import { Renderer, loadStrings } from '../src/email/render';
import { loadConfig } from '../src/config';
import { simpleParser } from 'mailparser';
import { AlertMime, parseSender } from '../src/email/mime';
import type { Alert } from '../src/model';

const NNBSP = '\u202f';
const NBSP = '\u00a0';

test('French typography: no-break spaces, guillemets, and URLs, addresses and times left alone', () => {
  const cases: Array<[string, string]> = [
    ['Bilan: 3 morts', `Bilan${NBSP}: 3 morts`],
    ['Il est 14 h 05 : fin', `Il est 14 h 05${NBSP}: fin`],
    ['Quoi?! Vraiment ?', `Quoi${NNBSP}?! Vraiment${NNBSP}?`],
    ['Attention ; danger!', `Attention${NNBSP}; danger${NNBSP}!`],
    ['Il a dit "non merci".', `Il a dit «${NNBSP}non merci${NNBSP}».`],
    ['«  Bonjour»', `«${NNBSP}Bonjour${NNBSP}»`],
    ['(vraiment?)', `(vraiment${NNBSP}?)`],
    ["l'article...", 'l’article…'],
    ['Rendez-vous à 14:05, score 3:1 :)', 'Rendez-vous à 14:05, score 3:1 :)'],
    ['Voir https://exemple.fr/a?b=1;c=2&d=e!f : ici', `Voir https://exemple.fr/a?b=1;c=2&d=e!f${NBSP}: ici`],
    ['Écrivez à redaction@exemple.fr: merci', `Écrivez à redaction@exemple.fr${NBSP}: merci`],
    ['Lisez www.exemple.fr/dossier?x=1 !', `Lisez www.exemple.fr/dossier?x=1${NNBSP}!`],
  ];
  for (const [input, expected] of cases) {
    assert.equal(frenchTypography(input), expected, input);
    assert.equal(frenchTypography(expected), expected, `idempotent on ${input}`);
  }
  assert.equal(frenchTypography('ligne 1\n: pas de jonction'), 'ligne 1\n: pas de jonction', 'a line break is never swallowed');
});

test('dates in Paris time, the French way', () => {
  assert.equal(frenchDate(new Date('2023-09-20T12:05:00Z')), `mercredi 20 septembre 2023 à 14${NBSP}h${NBSP}05`);
  assert.equal(frenchDate(new Date('2023-12-01T08:30:00Z')), `vendredi 1er décembre 2023 à 9${NBSP}h${NBSP}30`, 'winter time, 1er');
  assert.equal(
    frenchDate(new Date('2024-03-31T22:00:00Z')),
    `lundi 1er avril 2024 à 0${NBSP}h${NBSP}00`,
    'midnight is 0 h, the day after in Paris',
  );
  const english = dateFormatter({ locale: 'en-GB', timeZone: 'Europe/London', pattern: '{date} at {hour}:{minute}' });
  assert.match(english(new Date('2023-09-20T12:05:00Z')), /^Wednesday,? 20 September 2023 at 13:05$/);
});

test('address validation: one bare address, IDN domains allowed', () => {
  const refused: Array<[string, RegExp]> = [
    ['"a@gmail.com x"@internal.example', /one address|bare address/],
    ['a@b.example, c@d.example', /one address/],
    ['a@b.example;c@d.example', /one address/],
    ['a@b.fr\r\nBcc: x@y.fr', /line breaks/],
    ['a@b.fr\u0000', /control/],
    ['Nom <a@b.fr>', /bare address/],
    ['a@b.fr (moi)', /bare address/],
    [' a@b.fr', /spaces/],
    ['a@b.fr\u00a0', /spaces/],
    ['ab.fr', /@/],
    ['@b.fr', /before @/],
    ['.a@b.fr', /before @/],
    ['a.@b.fr', /before @/],
    [`${'a'.repeat(65)}@b.fr`, /before @/],
    ['é@b.fr', /before @/],
    ['a@b', /domain/],
    ['a@b.fr.', /domain/],
    ['a@-b.fr', /domain/],
    ['a@b_c.fr', /domain/],
    ['a@192.168.1.1', /domain/],
    ['a@[192.168.1.1]', /bare address/],
    ['a@b\u200bc.fr', /domain/],
    [`a@${'b'.repeat(64)}.fr`, /domain/],
    [`${'a'.repeat(64)}@${'b.'.repeat(95)}fr`, /too long/],
  ];
  for (const [input, why] of refused) assert.match(emailProblem(input) ?? 'accepted', why, JSON.stringify(input));
  for (const ok of [
    'a@b.fr',
    "o'brien+alertes@exemple.fr",
    'x@exämple.fr',
    'jean.dupont@例え.テスト',
    'a@xn--exmple-cua.fr',
    `${'a'.repeat(64)}@b.fr`,
  ]) {
    assert.equal(emailProblem(ok), null, ok);
  }
  assert.equal(asciiAddress('Jean@Exämple.FR'), 'Jean@xn--exmple-cua.fr');
});

test('SMTP errors: bad mailbox on RCPT bounces, other 5xx fail, the rest is retried', () => {
  const err = (responseCode: number | undefined, response: string, command?: string, code = 'EENVELOPE') => ({
    responseCode,
    response,
    command,
    code,
  });
  assert.deepEqual(classifySmtpError(err(550, '550 5.1.1 No such user', 'RCPT TO')), { kind: 'expired' });
  assert.deepEqual(classifySmtpError(err(550, '550 Mailbox unavailable', 'RCPT TO')), { kind: 'expired' });
  assert.deepEqual(classifySmtpError(err(551, '551 5.2.1 Mailbox disabled', 'RCPT TO')), { kind: 'expired' });
  assert.deepEqual(classifySmtpError(err(550, '550 5.7.1 Blocked by policy', 'RCPT TO')), { kind: 'failed', reason: 'smtp 550 5.7.1' });
  assert.deepEqual(classifySmtpError(err(552, '552 5.2.2 Mailbox full', 'RCPT TO')), { kind: 'failed', reason: 'smtp 552 5.2.2' });
  assert.deepEqual(classifySmtpError(err(554, '554 5.6.0 Content rejected', 'DATA', 'EMESSAGE')), {
    kind: 'failed',
    reason: 'smtp 554 5.6.0',
  });
  assert.equal(classifySmtpError(err(451, '451 4.3.0 Try later', 'RCPT TO')).kind, 'retry');
  assert.equal(classifySmtpError(err(421, '421 Too busy', 'CONN', 'EPROTOCOL')).kind, 'retry');
  assert.equal(classifySmtpError({ code: 'ECONNECTION', message: 'connect ECONNREFUSED' }).kind, 'retry');
  assert.equal(classifySmtpError({ code: 'ETIMEDOUT', message: 'Timeout' }).kind, 'retry');
});

test('configuration: durations, rate, DKIM all or nothing', () => {
  const base = { REDIS_URL: 'redis://127.0.0.1:1' };
  const c = loadConfig({ ...base, CONFIRM_TTL: '48h', CONFIRM_RESEND_INTERVAL: '90', EMAIL_RATE_PER_SECOND: '14' });
  assert.equal(c.email.confirmTtlSeconds, 172_800);
  assert.equal(c.email.confirmResendSeconds, 90);
  assert.equal(c.email.ratePerSecond, 14);
  const d = loadConfig(base);
  assert.equal(d.email.confirmTtlSeconds, 7 * 86_400);
  assert.equal(d.email.confirmResendSeconds, 600);
  assert.equal(d.email.ratePerSecond, undefined);
  assert.equal(d.email.dkim, undefined);
  assert.throws(() => loadConfig({ ...base, CONFIRM_TTL: 'une semaine' }), /^Error: configuration: CONFIRM_TTL must be a duration/);
  assert.throws(() => loadConfig({ ...base, CONFIRM_TTL: '0d' }), /CONFIRM_TTL must be longer than 0/);
  assert.throws(() => loadConfig({ ...base, EMAIL_RATE_PER_SECOND: '0' }), /EMAIL_RATE_PER_SECOND/);
  assert.throws(() => loadConfig({ ...base, DKIM_DOMAIN: 'depeche.example' }), /must be set together/);
  assert.throws(() => loadConfig({ ...base, MAIL_FROM: 'a@b.fr, c@d.fr' }), /MAIL_FROM must be one sender/);
  assert.throws(() => loadConfig({ ...base, MAIL_FROM: 'Rédaction <rédaction@b.fr>' }), /MAIL_FROM must be one sender/);
  assert.equal(loadConfig({ ...base, MAIL_FROM: 'Rédaction, Alertes <alertes@b.fr>' }).email.from, 'Rédaction, Alertes <alertes@b.fr>');
  assert.throws(
    () => loadConfig({ ...base, DKIM_DOMAIN: 'depeche.example', DKIM_SELECTOR: 's1', DKIM_PRIVATE_KEY: 'pas une clé' }),
    /DKIM_PRIVATE_KEY is not a PEM private key/,
  );
});

test('rendering: compiled once, per recipient only the links change, escaped for HTML', () => {
  const r = new Renderer(loadStrings('fr'));
  const alert: Alert = {
    id: 'abcdefgh12',
    rev: 1,
    kind: 'original',
    flash: false,
    title: 'Titre avec __DP_ et "guillemets"',
    body: 'Un.\n\nDeux ligne 1\nligne 2',
    url: 'https://exemple.fr/a?b=1&c=2',
    topics: [],
    urgency: 'high',
    channels: ['email'],
    createdAt: '2023-09-20T12:05:00Z',
    createdBy: 'test',
  };
  const compiled = r.alertEmail(alert);
  const one = compiled.forRecipient({ unsubscribe: 'https://x.fr/u?token=1&a="b"', preferences: 'https://x.fr/p?token=1' });
  const two = compiled.forRecipient({ unsubscribe: 'https://x.fr/u?token=2', preferences: 'https://x.fr/p?token=2' });
  assert.ok(one.html.includes('href="https://x.fr/u?token=1&amp;a=&quot;b&quot;"'));
  assert.ok(one.text.includes('https://x.fr/u?token=1&a="b"'));
  assert.ok(two.html.includes('href="https://x.fr/p?token=2"'));
  assert.equal(one.html.replace(/token=1[^"]*/g, 'T'), two.html.replace(/token=2[^"]*/g, 'T'), 'only the links differ');
  assert.ok(one.html.includes('Deux ligne 1<br>ligne 2'));
  assert.ok(one.html.includes(`mercredi 20 septembre 2023 à 14${NBSP}h${NBSP}05`));
  assert.equal(compiled.subject, `Titre avec __DP_ et «${NNBSP}guillemets${NNBSP}»`);
  assert.ok(one.text.includes(`Un.\n\nDeux ligne 1\nligne 2\n\nLire l’article${NBSP}: https://exemple.fr/a?b=1&c=2`), one.text);
});

test('the text part wraps at 72 columns, never inside a word, a URL or a no-break space', () => {
  const long = `Le gouvernement a annoncé ce matin à 14${NBSP}h${NBSP}05 une série de mesures ${'https://exemple.fr/'.padEnd(90, 'x')} pour la suite${NNBSP}!`;
  const lines = wrapText(long).split('\n');
  for (const l of lines) assert.ok(Array.from(l).length <= 72 || !l.includes(' '), `line too long: ${l}`);
  assert.ok(lines.some((l) => l.includes(`14${NBSP}h${NBSP}05`)));
  assert.ok(lines.some((l) => l.startsWith('https://exemple.fr/xxx') && l.length === 90));
  assert.ok(lines.at(-1)!.endsWith(`suite${NNBSP}!`));
});

test('the compiled MIME message: every raw message decodes to exactly the rendered parts', async () => {
  const r = new Renderer(loadStrings('fr'));
  const alert: Alert = {
    id: 'abcdefgh12',
    rev: 2,
    kind: 'original',
    flash: false,
    title: `Grève : « trains » à l'arrêt ! ${'très long titre '.repeat(6)}`,
    body: `Premier paragraphe avec des caractères accentués : éàü — et des = signes, ${'texte '.repeat(40)}\n\nSecond.`,
    url: 'https://exemple.fr/a?b=1&c=2',
    topics: [],
    urgency: 'high',
    channels: ['email'],
    createdAt: '2023-09-20T12:05:00Z',
    createdBy: 'test',
  };
  const email = r.alertEmail(alert);
  const mime = new AlertMime(email, { from: 'La Rédaction, dépêche <alertes@depeche.example>', listId: '<alertes.exemple.fr>' });
  for (const n of [1, 987654]) {
    const links = {
      unsubscribe: `https://alertes.exemple.fr/api/subscriptions/email/unsubscribe?token=u.${n}.0.${'A'.repeat(22)}`,
      preferences: `https://alertes.exemple.fr/api/subscriptions/email/preferences?token=p.${n}.0.${'B'.repeat(22)}&x=1`,
    };
    const raw = mime.forRecipient(
      { to: `lecteur${n}@exemple.fr`, messageId: `<m${n}@exemple.fr>`, links },
      new Date('2023-09-20T12:05:00Z'),
    );
    const [head, ...body] = raw.split('\r\n\r\n');
    for (const line of head.split('\r\n')) assert.ok(line.length <= 998, `header line of ${line.length}`);
    for (const line of body.join('\r\n\r\n').split('\r\n')) assert.ok(line.length <= 76, `body line of ${line.length}: ${line}`);
    assert.ok(!/(^|[^\r])\n/.test(raw), 'CRLF line ends only');
    const parsed = await simpleParser(raw);
    const expected = email.forRecipient(links);
    assert.equal(parsed.html, expected.html);
    assert.equal(parsed.text, expected.text);
    assert.equal(parsed.subject, email.subject);
    assert.equal(parsed.from?.value[0]?.name, 'La Rédaction, dépêche');
    assert.equal(parsed.from?.value[0]?.address, 'alertes@depeche.example');
    assert.equal(parsed.to && !Array.isArray(parsed.to) ? parsed.to.text : '', `lecteur${n}@exemple.fr`);
    assert.equal(parsed.messageId, `<m${n}@exemple.fr>`);
    assert.equal(parsed.date?.toISOString(), '2023-09-20T12:05:00.000Z');
    assert.equal(
      parsed.headerLines.find((h) => h.key === 'list-unsubscribe-post')?.line,
      'List-Unsubscribe-Post: List-Unsubscribe=One-Click',
    );
  }
  assert.throws(() =>
    mime.forRecipient({ to: 'a@b.fr\r\nBcc: x@y.fr', messageId: '<m@x>', links: { unsubscribe: 'u', preferences: 'p' } }),
  );
  assert.equal(parseSender('Rédaction "Alertes" <a@b.fr>').address, 'a@b.fr');
  assert.equal(parseSender('Alertes Info <a@b.fr>').line, 'From: Alertes Info <a@b.fr>\r\n');
  assert.equal(parseSender('Alertes, Info <a@b.fr>').line, 'From: "Alertes, Info" <a@b.fr>\r\n');
});
