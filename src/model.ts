// The domain's vocabulary: the words every layer uses (an alert, a channel, an urgency, an
// editor's role). It imports nothing of ours, so any module may import it without pulling in a
// store, a transport or the configuration.

export const CHANNELS = ['push', 'email'] as const;
export type Channel = (typeof CHANNELS)[number];

/** How a recipient of one revision was settled: `expired` means the address no longer exists. */
export const OUTCOMES = ['sent', 'failed', 'expired', 'skipped'] as const;
export type OutcomeKind = (typeof OUTCOMES)[number];

/** What a reader did with a delivered alert: a push arrived on screen (received), a link was opened (clicked). */
export const DELIVERY_EVENTS = ['received', 'clicked'] as const;
export type DeliveryEvent = (typeof DELIVERY_EVENTS)[number];

/** RFC 8030 urgency; it also sets how long a push may wait at the push service (TTL). */
export const URGENCIES = ['very-low', 'low', 'normal', 'high'] as const;
export type Urgency = (typeof URGENCIES)[number];

/**
 * The languages a reader may choose: those with a strings file, templates/i18n/<lang>.json (a test
 * checks both lists agree). A closed set: each one may cost a bitmap per channel (push-languages).
 */
export const LANGUAGES = ['fr', 'en'] as const;
export type Lang = (typeof LANGUAGES)[number];
export const isLang = (s: unknown): s is Lang => typeof s === 'string' && (LANGUAGES as readonly string[]).includes(s);

/** An alert's text in one language other than the default: what its readers get instead. */
export interface AlertText {
  title: string;
  body: string;
  url?: string;
}

/**
 * Delivery lane: `flash` batches go through queues of their own, served by workers reserved in
 * every process, ahead of the `normal` lane's queued batches (see src/pipeline/lanes.ts).
 */
export const LANES = ['flash', 'normal'] as const;
export type Lane = (typeof LANES)[number];

export const EDITOR_ROLES = ['editor', 'chief'] as const;
export type EditorRole = (typeof EDITOR_ROLES)[number];

/** Who acts: an editor, by the name and role of their token. */
export interface Actor {
  name: string;
  role: EditorRole;
}

export type AlertKind = 'original' | 'update' | 'correction' | 'test';

/** One revision of an alert, with everything needed to send it. */
export interface Alert {
  id: string;
  rev: number;
  kind: AlertKind;
  title: string;
  body: string;
  url?: string;
  /**
   * The same alert in other languages (never the default one, EMAIL_LANGUAGE, which `title` and
   * `body` are in); a reader whose language is missing here gets the default text.
   */
  texts?: Partial<Record<Lang, AlertText>>;
  /** Pushes of one story replace each other on screen and at the push service. */
  story?: string;
  /** A picture for the push notification (https URL), shown where the platform supports it. */
  image?: string;
  topics: string[];
  urgency: Urgency;
  channels: Channel[];
  /** Goes out even in subscribers' quiet hours and ignores MIN_ALERT_GAP. */
  flash: boolean;
  publishAt?: string;
  /** Chosen once at publish and kept with the revision; absent on revisions stored before lanes. */
  lane?: Lane;
  createdAt: string;
  createdBy: string;
}

/** The revision's lane; one stored before lanes existed goes by its flash flag. */
export const laneOf = (a: Pick<Alert, 'lane' | 'flash'>): Lane => a.lane ?? (a.flash ? 'flash' : 'normal');
