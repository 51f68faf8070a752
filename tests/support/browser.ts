// Real headless Chromium (Debian's package) driven by playwright-core, and the few things the
// browser tests do with a reader's browser: deliver a push through the DevTools protocol, read
// the notifications the service worker showed, and click one.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type CDPSession, type Page, type Worker } from 'playwright-core';
import { until } from './stack';
import type { TestSubscriber } from './push-service';

export const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

// tsx compiles TypeScript with esbuild's keepNames, which wraps functions in a `__name` helper;
// functions sent to evaluate() in the page or the worker need that helper there too.
const NAME_SHIM = 'globalThis.__name = globalThis.__name || ((f) => f);';

export const ARTIFACTS = resolve(__dirname, '../../artifacts');

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 60_000 });
}

export function artifact(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}

export interface ShownNotification {
  title: string;
  body: string;
  tag: string;
  icon: string;
  data: { url: string; id: string };
}

// The project compiles without the DOM library; these are the few browser shapes the functions
// evaluated in the page or the worker use (they run there, typed here).
interface NotificationLike extends ShownNotification {
  close(): void;
}
interface RegistrationLike {
  getNotifications(): Promise<NotificationLike[]>;
}
interface ElementLike {
  tagName: string;
  id: string;
  type?: string;
  value?: string;
}
interface PageGlobals {
  navigator: { serviceWorker: { ready: Promise<RegistrationLike>; register(url: string): Promise<unknown> } };
  document: { activeElement: ElementLike | null; documentElement: { scrollWidth: number } };
  innerWidth: number;
}
interface EventLike {
  type: string;
}
interface StorageLike {
  getItem(k: string): string | null;
  setItem(k: string, v: string): void;
  removeItem(k: string): void;
}
interface FakeableGlobals {
  sessionStorage: StorageLike;
}
interface WorkerGlobals {
  registration: RegistrationLike;
  clients: { openWindow(url: string): Promise<null> };
  NotificationEvent: new (type: string, init: { notification: NotificationLike; action?: string }) => EventLike;
  dispatchEvent(e: EventLike): boolean;
}

/** One reader: a fresh browser profile (context) with one tab on our site. */
export class Reader {
  private readonly registrations = new Map<string, string>();
  /** Script errors and console errors of the page (a CSP violation is reported there). */
  readonly problems: string[] = [];

  private constructor(
    readonly context: BrowserContext,
    readonly page: Page,
    readonly cdp: CDPSession,
    readonly origin: string,
  ) {
    page.on('pageerror', (e) => this.problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') this.problems.push(`console: ${m.text()}`);
    });
    cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => {
      for (const r of e.registrations) {
        if (r.isDeleted) this.registrations.delete(r.scopeURL);
        else this.registrations.set(r.scopeURL, r.registrationId);
      }
    });
  }

  static async open(
    browser: Browser,
    origin: string,
    opts: { permission?: 'granted' | 'denied'; timezoneId?: string } = {},
  ): Promise<Reader> {
    // A phone-sized window: the page must work there.
    const context = await browser.newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      locale: 'fr-FR',
      timezoneId: opts.timezoneId ?? 'Europe/Paris',
    });
    context.setDefaultTimeout(20_000);
    if (opts.permission === 'granted') await context.grantPermissions(['notifications'], { origin });
    await context.addInitScript(NAME_SHIM);
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    if (opts.permission === 'denied') {
      await cdp.send('Browser.setPermission', {
        permission: { name: 'notifications' },
        setting: 'denied',
        origin,
        browserContextId: await contextId(cdp),
      });
    }
    await cdp.send('ServiceWorker.enable');
    return new Reader(context, page, cdp, origin);
  }

  /**
   * Chromium here cannot reach a real push service, so its pushManager.subscribe() always fails.
   * This replaces the browser's PushManager in the page with one that hands out `sub`, a
   * subscription of the local test push service, and records how the page called it (read
   * with subscribeCalls()). It lasts across reloads of the tab, like a real subscription.
   */
  async fakePushManager(sub: TestSubscriber): Promise<void> {
    await this.context.addInitScript(`(() => {
      const s = ${JSON.stringify({ endpoint: sub.endpoint, keys: sub.keys })};
      function make(key) {
        return {
          endpoint: s.endpoint,
          expirationTime: null,
          options: { userVisibleOnly: true, applicationServerKey: new Uint8Array(key).buffer },
          toJSON: () => ({ endpoint: s.endpoint, expirationTime: null, keys: s.keys }),
          unsubscribe: async () => { sessionStorage.removeItem('fake-sub'); return true; },
        };
      }
      PushManager.prototype.subscribe = async (o) => {
        const key = Array.from(new Uint8Array(o.applicationServerKey));
        const calls = JSON.parse(sessionStorage.getItem('fake-calls') || '[]');
        calls.push({ userVisibleOnly: o.userVisibleOnly, key });
        sessionStorage.setItem('fake-calls', JSON.stringify(calls));
        sessionStorage.setItem('fake-sub', JSON.stringify(key));
        return make(key);
      };
      PushManager.prototype.getSubscription = async () => {
        const key = sessionStorage.getItem('fake-sub');
        return key ? make(JSON.parse(key)) : null;
      };
    })();`);
  }

  /** How the page called the fake pushManager.subscribe(): the key as base64url. */
  async subscribeCalls(): Promise<{ userVisibleOnly: boolean; key: string }[]> {
    const raw = await this.page.evaluate(() => (globalThis as unknown as FakeableGlobals).sessionStorage.getItem('fake-calls'));
    return (JSON.parse(raw ?? '[]') as { userVisibleOnly: boolean; key: number[] }[]).map((c) => ({
      userVisibleOnly: c.userVisibleOnly,
      key: Buffer.from(c.key).toString('base64url'),
    }));
  }

  /** The id DevTools gives our service worker registration (scope "/"). */
  registrationId(): Promise<string> {
    return until(async () => this.registrations.get(`${this.origin}/`), 15_000);
  }

  /** Hands a payload to the service worker as if the push service had delivered it. */
  async deliverPush(payload: string): Promise<void> {
    await this.cdp.send('ServiceWorker.deliverPushMessage', {
      origin: this.origin,
      registrationId: await this.registrationId(),
      data: payload,
    });
  }

  /** Registers the service worker directly, as the page does when the reader subscribes. */
  async registerWorker(): Promise<void> {
    await this.page.evaluate(async () => {
      const sw = (globalThis as unknown as PageGlobals).navigator.serviceWorker;
      await sw.register('/sw.js');
      await sw.ready;
    });
  }

  /** What has keyboard focus: "checkbox:<value>" for inputs, "<tag>:<id>" otherwise. */
  focused(): Promise<string> {
    return this.page.evaluate(() => {
      const el = (globalThis as unknown as PageGlobals).document.activeElement;
      if (!el) return '';
      return el.tagName === 'INPUT' ? `${el.type ?? ''}:${el.value ?? ''}` : `${el.tagName.toLowerCase()}:${el.id}`;
    });
  }

  /** True when the page is wider than the window (the reader would have to scroll sideways). */
  scrollsSideways(): Promise<boolean> {
    return this.page.evaluate(() => {
      const g = globalThis as unknown as PageGlobals;
      return g.document.documentElement.scrollWidth > g.innerWidth;
    });
  }

  notifications(): Promise<ShownNotification[]> {
    return this.page.evaluate(async () => {
      const reg = await (globalThis as unknown as PageGlobals).navigator.serviceWorker.ready;
      return (await reg.getNotifications()).map((n) => ({ title: n.title, body: n.body, tag: n.tag, icon: n.icon, data: n.data }));
    });
  }

  async serviceWorker(): Promise<Worker> {
    const sw = this.context.serviceWorkers()[0] ?? (await this.context.waitForEvent('serviceworker', { timeout: 15_000 }));
    await sw.evaluate(NAME_SHIM);
    return sw;
  }

  /** Shows a notification from inside the service worker, as an earlier push would have left it. */
  async showFromWorker(title: string, options: Record<string, unknown>): Promise<void> {
    const sw = await this.serviceWorker();
    await sw.evaluate(
      async ([t, o]) => {
        const g = globalThis as unknown as { registration: { showNotification(title: string, options: unknown): Promise<void> } };
        await g.registration.showNotification(t, o);
      },
      [title, options] as const,
    );
  }

  /**
   * Clicks the first notification, through the service worker's own `notificationclick` handler.
   * DevTools cannot click a notification, so the event is dispatched inside the worker with the
   * real Notification object. Only a browser-made click may open a window, so `openWindow` is
   * replaced by a recorder: the test sees which URL would have opened. `action`: one of the
   * notification's buttons (its `action` name), as `event.action` carries it; '' for the body.
   */
  async clickNotification(action = ''): Promise<{ opened: string[]; remaining: number }> {
    const sw = await this.serviceWorker();
    return sw.evaluate(async (action) => {
      const g = globalThis as unknown as WorkerGlobals;
      const opened: string[] = [];
      g.clients.openWindow = async (url: string) => {
        opened.push(url);
        return null;
      };
      const [notification] = await g.registration.getNotifications();
      if (!notification) throw new Error('no notification to click');
      const event = new g.NotificationEvent('notificationclick', { notification, action });
      const pending: Promise<unknown>[] = [];
      Object.defineProperty(event, 'waitUntil', {
        value: (p: Promise<unknown>) => {
          pending.push(p);
        },
      });
      g.dispatchEvent(event);
      await Promise.all(pending);
      return { opened, remaining: (await g.registration.getNotifications()).length };
    }, action);
  }

  async close(): Promise<void> {
    await this.context.close();
  }
}

async function contextId(cdp: CDPSession): Promise<string | undefined> {
  const { targetInfo } = await cdp.send('Target.getTargetInfo');
  return targetInfo.browserContextId;
}
