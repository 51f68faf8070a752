// @ts-check
// The console's only way to the server. Unsafe methods carry the session's CSRF token; errors
// come back as ApiFailure with a French message an editor can act on.

let csrf = '';
/** @type {() => void} */
let onSignedOut = () => {};

/** @param {string} token */
export function setCsrf(token) {
  csrf = token;
}

/** Called when the server says the session is gone (expired, or signed out elsewhere). @param {() => void} fn */
export function whenSignedOut(fn) {
  onSignedOut = fn;
}

/** The live stream said the session has ended (token withdrawn, role changed, deadline). */
export function signedOut() {
  onSignedOut();
}

export class ApiFailure extends Error {
  /** @param {number} status @param {string} code @param {string} message @param {unknown} [details] */
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** @type {Record<string, string>} */
const FIELDS = {
  title: 'Titre',
  body: 'Texte',
  url: 'Lien de l’article',
  story: 'Dossier',
  topics: 'Rubriques',
  urgency: 'Urgence',
  channels: 'Canaux',
  token: 'Jeton',
  slug: 'Identifiant',
  label: 'Libellé',
  events: 'Évènements',
};

/** @param {number} status @param {any} error */
function french(status, error) {
  const code = String(error?.code ?? `http_${status}`);
  switch (code) {
    case 'invalid_token':
      return 'Ce jeton n’est pas valide.';
    case 'too_many_failed_sign_ins': {
      const minutes = Math.max(1, Math.ceil(Number(error?.details?.retryAfterSeconds ?? 60) / 60));
      return `Trop de jetons refusés depuis cette adresse : réessayez dans ${minutes} min.`;
    }
    case 'unauthorized':
      return 'Votre session a expiré : reconnectez-vous.';
    case 'csrf_failed':
      return 'Votre session a changé : rechargez la page.';
    case 'unavailable':
      return 'Le service est momentanément indisponible. Réessayez dans quelques secondes.';
    case 'body_too_large':
      return 'Le message est trop long.';
    case 'unknown_topic':
      return `La rubrique « ${error?.details?.topic ?? ''} » n’existe pas (ou a été retirée).`;
    case 'topic_exists':
      return `La rubrique « ${error?.details?.topic ?? ''} » existe déjà.`;
    case 'too_many_topics':
      return 'Nombre maximal de rubriques atteint : retirez-en une d’abord.';
    case 'declared_topic':
      return 'Cette rubrique est fixée par la configuration (PAGE_TOPICS) : l’équipe technique peut la changer.';
    case 'webhook_private_address':
      return 'Cette adresse mène à un réseau privé (ou à cette machine) : les webhooks ne partent que vers des adresses publiques.';
    case 'webhook_not_https':
      return 'L’adresse du webhook doit être en https.';
    case 'webhook_unresolvable':
      return 'Ce nom d’hôte n’existe pas (DNS).';
    case 'too_many_webhooks':
      return 'Nombre maximal de webhooks atteint : supprimez-en un d’abord.';
    case 'forbidden':
      return 'Action réservée aux chefs d’édition.';
    case 'invalid_input': {
      const first = Array.isArray(error?.details) ? error.details[0] : null;
      const field = first ? FIELDS[String(first.field).split('.')[0] ?? ''] : undefined;
      return field ? `${field} : ${first.message}` : `Saisie invalide : ${error?.message ?? ''}`;
    }
    default:
      if (status === 422) return `Envoi refusé : ${error?.message ?? 'contenu non accepté'}`;
      if (status >= 500) return 'Erreur du serveur. Réessayez ; si cela persiste, prévenez l’équipe technique.';
      return error?.message ? String(error.message) : `Erreur ${status}`;
  }
}

/**
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 * @param {Record<string, string>} [headers]
 * @returns {Promise<any>}
 */
export async function api(method, path, body, headers = {}) {
  /** @type {Record<string, string>} */
  const h = { accept: 'application/json', ...headers };
  if (body !== undefined) h['content-type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD') h['x-csrf-token'] = csrf;
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: h,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
  } catch {
    throw new ApiFailure(0, 'network', 'Le serveur ne répond pas. Vérifiez la connexion.');
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON */
  }
  if (!res.ok) {
    const error = data?.error;
    if (res.status === 401 && path !== '/api/session') onSignedOut();
    throw new ApiFailure(res.status, String(error?.code ?? `http_${res.status}`), french(res.status, error), error?.details);
  }
  return data;
}
