// French typography and dates. Applied to text we display, never to URLs.
const NNBSP = '\u202f'; // narrow no-break space, before ; ! ? and inside guillemets
const NBSP = '\u00a0'; // no-break space, before the colon

/** Puts the right no-break spaces before : ; ! ? and inside « », and turns "…" quotes into « ». */
export function frenchTypography(s: string): string {
  return s
    .replace(/"([^"]*)"/g, '«$1»')
    .replace(/«\s*/g, `«${NNBSP}`)
    .replace(/\s*»/g, `${NNBSP}»`)
    .replace(/(\S)\s*([;!?])(?=\s|$)/gu, `$1${NNBSP}$2`)
    .replace(/([^\s\d])\s*:(?=\s|$)/gu, `$1${NBSP}:`);
}

const dateFmt = new Intl.DateTimeFormat('fr-FR', { timeZone: 'Europe/Paris', weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });
const timeFmt = new Intl.DateTimeFormat('fr-FR', { timeZone: 'Europe/Paris', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });

/** « mercredi 20 septembre 2023 à 14 h 05 », in Paris time. */
export function frenchDate(d: Date): string {
  const [h, m] = timeFmt.format(d).split(':');
  return `${dateFmt.format(d)} à ${Number(h)} h ${m}`;
}
