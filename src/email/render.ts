// Email and page rendering. Templates (eta, HTML-escaped by default) are rendered and their CSS
// inlined by juice once per alert; the result is split around the personal links, so a recipient's
// message is a handful of string concatenations: personalised sending stays close to the speed of
// sending one fixed message.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Eta } from 'eta';
import juice from 'juice';
import { dateFormatter, frenchTypography } from './french';
import { paragraphs, wrapText } from './text';
import { labelFor, prefixFor } from '../alert-text';
import { LANGUAGES, type Alert, type Lang } from '../model';
import { APP_ROOT } from '../paths';

export const TEMPLATES_DIR = resolve(APP_ROOT, 'templates');

/** UI strings of one language: templates/i18n/<lang>.json. Another language is another file. */
export type Strings = Record<string, string>;

export function loadStrings(lang: string = 'fr'): Strings {
  const file = join(TEMPLATES_DIR, 'i18n', `${lang}.json`);
  if (!existsSync(file)) throw new Error(`no strings for language "${lang}": ${file} is missing`);
  return JSON.parse(readFileSync(file, 'utf8')) as Strings;
}

/** The links that differ from one recipient to the next. */
export interface EmailLinks {
  unsubscribe: string;
  preferences: string;
  /** The article link, through /r/<token> so a click counts; absent: the alert's URL itself. */
  article?: string;
}
type LinkName = keyof EmailLinks;

/** A rendered text with holes for the personal links; filling it is string concatenation only. */
export class Personal {
  private constructor(
    readonly literals: readonly string[],
    readonly slots: readonly LinkName[],
    private readonly fallback: Partial<Record<LinkName, string>> = {},
  ) {}

  static split(rendered: string, marks: Record<LinkName, string>, fallback: Partial<Record<LinkName, string>> = {}): Personal {
    const byMark = new Map(Object.entries(marks).map(([name, mark]) => [mark, name as LinkName]));
    const pieces = rendered.split(new RegExp(`(${Object.values(marks).join('|')})`));
    // split() with a capture group alternates literal, mark, literal, mark, …, literal.
    return new Personal(
      pieces.filter((_, i) => i % 2 === 0),
      pieces.filter((_, i) => i % 2 === 1).map((m) => byMark.get(m)!),
      fallback,
    );
  }

  /** The same holes around transformed literals (the MIME compiler quoted-printable-encodes them). */
  map(f: (literal: string) => string): Personal {
    return new Personal(this.literals.map(f), this.slots, this.fallback);
  }

  fill(links: EmailLinks, encode: (s: string) => string): string {
    let out = this.literals[0];
    for (let i = 0; i < this.slots.length; i++) {
      const slot = this.slots[i];
      out += encode(links[slot] ?? this.fallback[slot] ?? '') + this.literals[i + 1];
    }
    return out;
  }
}

export interface CompiledEmail {
  subject: string;
  /** Both parts with holes for the links; `html` holes take attribute-escaped links. */
  parts: { html: Personal; text: Personal };
  /** The message for one recipient, given its personal links. */
  forRecipient(links: EmailLinks): { html: string; text: string };
}

export interface RenderedMail {
  subject: string;
  html: string;
  text: string;
}

export class Renderer {
  private readonly eta = new Eta({ views: TEMPLATES_DIR, autoEscape: true, cache: true });
  /** Typography for the language (French spacing rules), applied to displayed text, never to links. */
  readonly prose: (s: string) => string;
  readonly formatDate: (d: Date) => string;
  private readonly typeset = new Map<string, string>();
  // Unguessable marks, so an editor's title cannot smuggle in someone's link placeholder.
  private readonly marks: Record<LinkName, string>;

  /** This renderer's language, and its siblings in the other languages (see `in`). */
  readonly lang: Lang;
  private siblings: ReadonlyMap<Lang, Renderer> = new Map();

  /** One renderer per language of LANGUAGES, linked; the one returned speaks `defaultLang`. */
  static forLanguages(defaultLang: Lang): Renderer {
    const all = new Map(LANGUAGES.map((l) => [l, new Renderer(loadStrings(l))]));
    for (const r of all.values()) r.siblings = all;
    return all.get(defaultLang)!;
  }

  /**
   * The renderer of a reader's language; this one (the newsroom's default) for a reader who chose
   * none, or for a language without a strings file (only ever from data older than LANGUAGES).
   */
  in(lang: string | undefined): Renderer {
    return (lang === undefined ? undefined : this.siblings.get(lang as Lang)) ?? this;
  }

  constructor(readonly strings: Strings) {
    this.lang = (LANGUAGES as readonly string[]).includes(strings.lang ?? '') ? (strings.lang as Lang) : 'fr';
    this.prose = strings.typography === 'fr' ? frenchTypography : (s) => s;
    this.formatDate = dateFormatter({
      locale: strings.locale ?? 'fr-FR',
      timeZone: strings.timeZone ?? 'Europe/Paris',
      pattern: strings.dateTime ?? '{date} {hour}:{minute}',
      firstDay: strings.firstDay,
    });
    const nonce = randomBytes(6).toString('hex');
    this.marks = { unsubscribe: `__DP${nonce}U__`, preferences: `__DP${nonce}P__`, article: `__DP${nonce}A__` };
  }

  /** A UI string with its typography applied, then its {name} placeholders filled (values as given). */
  t(key: string, vars: Record<string, string> = {}): string {
    let s = this.typeset.get(key);
    if (s === undefined) {
      s = this.prose(this.strings[key] ?? key);
      this.typeset.set(key, s);
    }
    return s.replace(/\{(\w+)\}/g, (_, k: string) => vars[k] ?? '');
  }

  private common() {
    return { t: this.t.bind(this), lang: this.strings.lang ?? 'fr', wrap: wrapText };
  }

  /**
   * `textLang`: the language the alert's text is in (the reader's, or the default one when the
   * alert lacks it): its typography applies to the text, this renderer's to the words around it.
   */
  alertEmail(alert: Alert, textLang: Lang = this.lang): CompiledEmail {
    const prose = this.in(textLang).prose;
    const title = prose(alert.title);
    const body = paragraphs(prose(alert.body));
    const data = {
      ...this.common(),
      // « Mise à jour », « Rectificatif », « Test » instead of « Alerte » (see alert-text.ts).
      label: labelFor(alert, this.strings),
      notice: alert.kind === 'test' ? this.t('testNotice') : '',
      title,
      paragraphs: body,
      preheader: (body[0] ?? '').replace(/\s+/g, ' ').slice(0, 140),
      url: alert.url,
      date: this.formatDate(new Date(alert.createdAt)),
      links: this.marks,
    };
    // The article link falls back to the alert's own URL where a recipient has no click link (tests).
    const subject = this.prose(prefixFor(alert, 'email', this.strings)) + title;
    return this.compile('alert', subject, data, { article: alert.url ?? '' });
  }

  /**
   * The daily digest of some stories, each given at its latest revision (the caller orders them:
   * flash first). Compiled once per selection of stories, like an alert, with holes for the links.
   */
  digestEmail(stories: readonly Alert[], window: { from: Date; to: Date }, textLangs: readonly Lang[] = []): CompiledEmail {
    const count = String(stories.length);
    // Each story's text in its own language's typography (textLangs[i], default: this one's).
    const proseOf = (i: number) => this.in(textLangs[i] ?? this.lang).prose;
    const data = {
      ...this.common(),
      heading: this.t('digestHeading'),
      intro: this.t('digestIntro', { count, from: this.formatDate(window.from), to: this.formatDate(window.to) }),
      stories: stories.map((a, i) => {
        const summary = (paragraphs(proseOf(i)(a.body))[0] ?? '').replace(/\s+/g, ' ');
        return {
          flash: a.flash,
          label: labelFor(a, this.strings),
          title: proseOf(i)(a.title),
          summary: summary.length > 300 ? `${summary.slice(0, 299)}…` : summary,
          url: a.url,
          date: this.formatDate(new Date(a.createdAt)),
        };
      }),
      preheader: stories
        .map((a, i) => proseOf(i)(a.title))
        .join(' · ')
        .slice(0, 140),
      links: this.marks,
    };
    return this.compile('digest', this.t('digestSubject', { count }), data);
  }

  private compile(
    template: 'alert' | 'digest',
    subject: string,
    data: object,
    fallback: Partial<Record<LinkName, string>> = {},
  ): CompiledEmail {
    const html = Personal.split(juice(this.eta.render(`email/${template}.html.eta`, data)), this.marks, fallback);
    const text = Personal.split(this.eta.render(`email/${template}.txt.eta`, data), this.marks, fallback);
    return {
      // Typeset by the caller. A subject is one line whatever the title holds (no-break spaces
      // are kept: they are French).
      subject: subject.replace(/[\t\n\v\f\r \u2028\u2029]+/g, ' ').trim(),
      parts: { html, text },
      forRecipient: (links) => ({ html: html.fill(links, escapeAttr), text: text.fill(links, (s) => s) }),
    };
  }

  confirmEmail(confirmUrl: string, expiresAt: Date): RenderedMail {
    const data = { ...this.common(), confirmUrl, expires: this.formatDate(expiresAt) };
    return {
      subject: this.t('confirmSubject'),
      html: juice(this.eta.render('email/confirm.html.eta', data)),
      text: this.eta.render('email/confirm.txt.eta', data),
    };
  }

  /** A small public page: `action` shows a button that POSTs, `message` just text. */
  page(view: 'action' | 'message', data: { title: string; text: string; action?: string; button?: string }): string {
    return this.layout(data.title, this.eta.render(`pages/${view}.eta`, { ...this.common(), ...data }));
  }

  /** A page reached from an email's links (templates/email/<name>.html.eta) inside the site layout. */
  emailPage(name: 'preferences' | 'unsubscribed', title: string, data: object): string {
    return this.layout(title, this.eta.render(`email/${name}.html.eta`, { ...this.common(), ...data }));
  }

  private layout(title: string, body: string): string {
    return this.eta.render('pages/layout.eta', { ...this.common(), title, body });
  }

  /**
   * The public subscribe page. Its script reads its French messages from a JSON data block
   * (never executed, so a strict CSP allows it); `<` is escaped so no string can close the block.
   */
  subscribePage(data: {
    topics: readonly { slug: string; label: string }[];
    /** The newsletter's daily-digest time: a time field with a step (seconds), or a menu of options. */
    digest: { time: string; step?: number; options: readonly string[] };
  }): string {
    const messages = Object.fromEntries(
      Object.entries(this.strings)
        .filter(([k]) => k.startsWith('page.'))
        .map(([k, v]) => [k, this.prose(v)]),
    );
    const messagesJson = JSON.stringify(messages).replace(/</g, '\\u003c');
    const t = (key: string) => this.prose(this.t(key));
    return this.eta.render('pages/alertes.eta', { t, ...data, messagesJson, lang: this.lang });
  }
}

export function escapeAttr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
