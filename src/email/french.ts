// French typography and dates, applied to text we display (alert titles and bodies, UI strings),
// never to URLs or addresses, which must reach the reader byte for byte.
//
// Spaces (Imprimerie nationale usage): a no-break space U+00A0 before the colon, a narrow
// no-break space U+202F before ; ! ? and inside « guillemets ». Both are no-break, so a phone
// never starts a line with a lone « ? » or « : ».
export const NBSP = '\u00a0';
export const NNBSP = '\u202f';

/**
 * URLs and email addresses are set aside before the rules run and put back untouched after. A URL
 * ends before trailing sentence punctuation (« voir https://exemple.fr/a : » keeps its colon).
 */
const PROTECTED = /\b(?:https?:\/\/|www\.)[^\s<>«»"]*[^\s<>«»".,:;!?]|[\w.+-]+@[\w-]+(?:\.[\w-]+)+/giu;
/** Private-use characters stand in for the protected parts while the rules run. */
const SLOT = /\uE000(\d+)\uE001/g;
const H_SPACE = '[ \\t\\u00a0\\u202f]';

const RULES: Array<[RegExp, string]> = [
  // "…" straight quotes become « … » (only balanced pairs on one line).
  [/"([^"\n]*)"/g, '«$1»'],
  [new RegExp(`«${H_SPACE}*`, 'g'), `«${NNBSP}`],
  [new RegExp(`${H_SPACE}*»`, 'g'), `${NNBSP}»`],
  // A run like ?! or !!! takes one narrow space before it; followed by space, punctuation or end.
  [new RegExp(`(?<=[^\\s«])${H_SPACE}*([!?;]+)(?=$|[\\s\\p{P}])`, 'gu'), `${NNBSP}$1`],
  // The colon: only when a space or the end follows, so 14:05, 3:1 or :) stay as they are.
  [new RegExp(`(?<=[^\\s«])${H_SPACE}*:(?=$|\\s)`, 'g'), `${NBSP}:`],
  // Typographic apostrophe between letters (l'article → l’article), and the ellipsis.
  [/(?<=\p{L})'(?=\p{L})/gu, '’'],
  [/\.\.\./g, '…'],
];

/** Puts the right no-break spaces before : ; ! ? and inside « », turns "…" into « … ». Idempotent. */
export function frenchTypography(s: string): string {
  const kept: string[] = [];
  let out = s.replace(PROTECTED, (m) => `\uE000${kept.push(m) - 1}\uE001`);
  for (const [re, to] of RULES) out = out.replace(re, to);
  return kept.length === 0 ? out : out.replace(SLOT, (_, i: string) => kept[Number(i)]);
}

export interface DateStyle {
  /** BCP 47 locale for Intl, e.g. fr-FR. */
  locale: string;
  timeZone: string;
  /** Pattern with {date}, {hour} and {minute}, e.g. "{date} à {hour} h {minute}". */
  pattern: string;
  /** How the first day of a month is written, where it differs from "1" (French: 1er). */
  firstDay?: string;
}

/** A date formatter for one style; « mercredi 20 septembre 2023 à 14 h 05 » in Paris time for French. */
export function dateFormatter(style: DateStyle): (d: Date) => string {
  const day = new Intl.DateTimeFormat(style.locale, {
    timeZone: style.timeZone,
    weekday: 'long',
    day: 'numeric',
    month: 'long',
    year: 'numeric',
  });
  // formatToParts, not format().split(':'): the separator differs between locales and ICU versions.
  const time = new Intl.DateTimeFormat(style.locale, { timeZone: style.timeZone, hour: 'numeric', minute: '2-digit', hourCycle: 'h23' });
  const dayText = (d: Date) =>
    day
      .formatToParts(d)
      .map((p) => (p.type === 'day' && p.value === '1' && style.firstDay ? style.firstDay : p.value))
      .join('');
  return (d) => {
    const parts = time.formatToParts(d);
    const hour = String(Number(parts.find((p) => p.type === 'hour')?.value ?? '0'));
    const minute = parts.find((p) => p.type === 'minute')?.value ?? '00';
    return style.pattern.replace('{date}', dayText(d)).replace('{hour}', hour).replace('{minute}', minute);
  };
}

/** The French default, used where no strings file is at hand. */
export const frenchDate = dateFormatter({
  locale: 'fr-FR',
  timeZone: 'Europe/Paris',
  pattern: `{date} à {hour}${NBSP}h${NBSP}{minute}`,
  firstDay: '1er',
});
