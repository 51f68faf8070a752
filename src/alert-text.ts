import type { Alert, Channel, Lang } from './model';
// How a revision introduces itself to readers. A correction must say so on every channel; an
// update says so in the mail subject (on screen its push simply replaces the earlier one); a
// test is marked « TEST » everywhere so that no one can mistake it for news.

export type Strings = Record<string, string>;

/** The label before the title (« Rectificatif : »), or ''. */
export function prefixFor(alert: Alert, ch: Channel, s: Strings): string {
  const prefix =
    alert.kind === 'test'
      ? s.testPrefix
      : alert.kind === 'correction'
        ? s.correctionPrefix
        : alert.kind === 'update' && ch === 'email'
          ? s.updatePrefix
          : '';
  return prefix ?? '';
}

export function titleFor(alert: Alert, ch: Channel, s: Strings): string {
  return `${prefixFor(alert, ch, s)}${alert.title}`;
}

export function labelFor(alert: Alert, s: Strings): string {
  const key = { original: 'alertLabel', update: 'updateLabel', correction: 'correctionLabel', test: 'testLabel' }[alert.kind];
  return s[key] ?? key;
}

/** The revision as a channel sends it: its title carries the label. */
export function asSent(alert: Alert, ch: Channel, s: Strings): Alert {
  return { ...alert, title: titleFor(alert, ch, s) };
}

/**
 * The revision as a reader of `lang` gets it: its text in that language when the alert has one
 * (`texts`), else the default text. The result carries no `texts`: a channel sends one text.
 */
export function inLanguage(alert: Alert, lang: Lang): Alert {
  const { texts, ...rest } = alert;
  const t = texts?.[lang];
  if (!t) return rest;
  const url = t.url ?? alert.url;
  return { ...rest, title: t.title, body: t.body, ...(url ? { url } : {}) };
}

/** The language a reader of `lang` actually reads the alert in: theirs, or the default one. */
export function textLanguage(alert: Alert, lang: Lang, defaultLang: Lang): Lang {
  return alert.texts?.[lang] ? lang : defaultLang;
}

/** The languages an alert is sent in: the default one and those of its texts. */
export function textLanguages(alert: Alert, defaultLang: Lang): Lang[] {
  return [defaultLang, ...(Object.keys(alert.texts ?? {}) as Lang[]).filter((l) => l !== defaultLang)];
}

/**
 * A push in one text language: a notification is one language throughout, so a reader whose
 * language the alert lacks gets the default text with the default labels.
 */
export function pushInLanguage(alert: Alert, textLang: Lang, strings: Strings): Alert {
  return asSent(inLanguage(alert, textLang), 'push', strings);
}
