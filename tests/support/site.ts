// A news site on another loopback origin, for the embedded box: article pages carrying the one
// tag of README « On your site », and the one-line service worker importing our sw-core.js.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Site {
  /** http://127.0.0.1:<port>, an origin other than the stack's. */
  origin: string;
  close(): Promise<void>;
}

/** An article page as a site's CMS would render it, with our tag at the end. */
export function articlePage(ours: string, opts: { lang: 'fr' | 'en'; tag: Record<string, string> }): string {
  const attrs = Object.entries(opts.tag)
    .map(([k, v]) => ` ${k}="${v}"`)
    .join('');
  const [title, text] =
    opts.lang === 'en'
      ? ['Ferry back on the river', 'The old chain ferry crosses the river again every weekend.']
      : ['Le bac reprend du service', 'Le vieux bac à chaîne traverse de nouveau la rivière chaque week-end.'];
  return `<!doctype html>
<html lang="${opts.lang}"><head><meta charset="utf-8"><title>${title}</title>
<style>button, input { font-family: monospace; background: yellow; border-radius: 0; } h2 { color: green; }</style></head>
<body><main><article><h1>${title}</h1><p>${text}</p></article>
<script src="${ours}/embed.js" async${attrs}></script></main></body></html>`;
}

/** Serves `pages` (path → HTML) and /sw.js, the one line importing `${ours}/sw-core.js`. */
export async function startSite(ours: string, pages: Record<string, string>): Promise<Site> {
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://site').pathname;
    if (path === '/sw.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache' });
      res.end(`importScripts('${ours}/sw-core.js');\n`);
    } else if (path === '/favicon.ico') {
      res.writeHead(204).end();
    } else if (pages[path] !== undefined) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(pages[path]);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port free right now on loopback, so the stack can know its own public address before it starts. */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
