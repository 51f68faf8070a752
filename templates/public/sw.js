// dépêche's service worker, as a site hosts it: one line, so the worker's logic (sw-core.js) can be
// updated by us without the site changing anything. A news site hosting the box on its own pages
// serves this same line at its root with our absolute address (README, « On your site »).
importScripts('/sw-core.js');
