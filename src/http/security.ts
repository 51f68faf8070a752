// Security headers (helmet) and the Content-Security-Policies. Four policies, from strictest:
// the console runs only its own script and style files; bull-board's bundled UI needs inline
// styles; the small public pages rendered by eta carry their own <style> block. None of them
// allows an inline script, eval, a plugin, or being framed by another site.
import helmet from 'helmet';
import type { RequestHandler } from 'express';

const common = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'"],
  imgSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  objectSrc: ["'none'"],
  baseUri: ["'none'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
};

/** Every response: helmet's defaults, with the policy of the public pages. */
export const siteHeaders: RequestHandler = helmet({
  contentSecurityPolicy: { useDefaults: false, directives: { ...common, styleSrc: ["'self'", "'unsafe-inline'"] } },
});

/**
 * The console: nothing inline at all; frames only our own pages (the email preview); pictures
 * from any https site too, since the notification preview shows the alert's image where it lives.
 */
export const consoleCsp: RequestHandler = helmet.contentSecurityPolicy({
  useDefaults: false,
  directives: { ...common, imgSrc: ["'self'", 'data:', 'https:'], styleSrc: ["'self'"], fontSrc: ["'self'"], frameSrc: ["'self'"] },
});

/**
 * bull-board: scripts from its own files only, but its markup has style attributes and a <base>
 * element. (Its link to a web font is refused: the board falls back to the system's fonts.)
 */
export const boardCsp: RequestHandler = helmet.contentSecurityPolicy({
  useDefaults: false,
  directives: { ...common, baseUri: ["'self'"], styleSrc: ["'self'", "'unsafe-inline'"], fontSrc: ["'self'", 'data:'] },
});

/**
 * The API reference (/api/docs, Swagger UI served from node_modules): as strict as the console,
 * scripts and styles from our own files only (its React components set styles through the DOM,
 * which a policy does not govern); images may be data: URIs (its icons).
 */
export const docsCsp: RequestHandler = helmet.contentSecurityPolicy({
  useDefaults: false,
  directives: { ...common, styleSrc: ["'self'"], fontSrc: ["'self'", 'data:'] },
});
