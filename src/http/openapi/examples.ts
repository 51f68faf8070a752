// French example bodies for the API description, the same as the tests send
// (tests/openapi.test.ts checks each against the document and through the real routes).

export const examples = {
  publish: {
    title: 'Cessez-le-feu au Haut-Karabakh',
    body: 'Les deux parties ont signé un accord dans la nuit.',
    url: 'https://www.example.fr/international/haut-karabakh-cessez-le-feu',
    story: 'haut-karabakh',
    topics: ['international'],
    urgency: 'high',
    channels: ['push', 'email'],
    texts: {
      en: {
        title: 'Ceasefire in Nagorno-Karabakh',
        body: 'Both sides signed an agreement overnight.',
        url: 'https://www.example.fr/en/international/nagorno-karabakh-ceasefire',
      },
    },
  },
  update: { title: 'Attaque à Kiev : bilan provisoire', body: 'Nouveau bilan des secours.' },
  correction: { title: 'Bilan revu', body: 'Le bilan a été corrigé par les secours.' },
  pushSubscribe: {
    subscription: {
      endpoint: 'https://updates.push.services.mozilla.com/wpush/v2/gAAAAABk…',
      keys: {
        p256dh: 'BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM',
        auth: 'tBHItJI5svbpez7KI4CCXg',
      },
    },
    topics: ['politique', 'international'],
    timeZone: 'Europe/Paris',
    quietHours: '22:00-08:00',
  },
  pushUnsubscribe: { endpoint: 'https://updates.push.services.mozilla.com/wpush/v2/gAAAAABk…' },
  emailSubscribe: { email: 'lectrice@exemple.fr', topics: ['politique'], timeZone: 'Europe/Paris', lang: 'fr' },
  importLine:
    '{"subscription":{"endpoint":"https://fcm.googleapis.com/fcm/send/dX3…","keys":{"p256dh":"BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM","auth":"tBHItJI5svbpez7KI4CCXg"}},"topics":["sport"]}\n',
  topicCreate: { slug: 'climat', label: 'Climat' },
  topicRename: { label: 'Climat et environnement' },
  signIn: { token: 'redaction-secret-token-0123456789' },
  draft: { title: 'Crue de la Seine', body: 'La Seine dépasse six mètres à Paris-Austerlitz.', topics: ['societe'] },
  alertAnswer: {
    id: 'm3x9k2a7qpl0',
    rev: 1,
    kind: 'original',
    title: 'Cessez-le-feu au Haut-Karabakh',
    body: 'Les deux parties ont signé un accord dans la nuit.',
    topics: ['international'],
    urgency: 'high',
    channels: ['push', 'email'],
    flash: false,
    lane: 'normal',
    createdAt: '2026-03-01T06:58:12.000Z',
    createdBy: 'redaction',
    status: 'sending',
    delivery: {
      push: {
        targeted: 1200,
        sent: 640,
        failed: 2,
        expired: 1,
        clicked: 35,
        byService: {
          fcm: { sent: 420, failed: 0, expired: 1, errors: { '410': 1 } },
          apple: { sent: 220, failed: 2, expired: 0, errors: { '403 BadJwtToken': 2 } },
        },
      },
      email: { targeted: 300, sent: 120, failed: 0, bounced: 0, complained: 0 },
    },
    pending: { push: 557, email: 180 },
    revisions: [],
  },
  importAnswer: {
    imported: 998,
    updated: 1,
    rejected: 1,
    errors: [{ line: 42, reason: 'subscription.keys.auth: auth must be 16 bytes, base64url' }],
  },
  auditAnswer: {
    entries: [
      {
        id: '1772348292000-0',
        at: '2026-03-01T06:58:12.000Z',
        action: 'publish',
        editor: 'redaction',
        role: 'editor',
        alertId: 'm3x9k2a7qpl0',
        rev: 1,
      },
    ],
  },
  topicsAnswer: { topics: [{ slug: 'politique', label: 'Politique', declared: true }] },
};
