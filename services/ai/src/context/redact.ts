/*
 * Secret values never reach a model. Every value the pods service holds as a secret of the pod (and its access
 * token) is replaced by `[secret]` wherever it appears in what is sent — logs, events, the spec, the question's
 * context — also URL-encoded and base64-encoded, as values often appear in logs inside connection strings or
 * basic-auth headers. Well-known credential shapes are replaced too, whoever's they are. Pure.
 */

export const REDACTED = '[secret]';

/** Values shorter than this are not searched for: "1" or "on" would redact every digit or word. */
export const MIN_SECRET_LENGTH = 3;

const PATTERNS: readonly [RegExp, string][] = [
  // AgentPod credentials: pod access tokens, sessions, API tokens, node credentials, join tokens, invitations…
  [/\bap[a-z]_[A-Za-z0-9_-]{16,}/g, REDACTED],
  [/\bwhsec_[A-Za-z0-9_-]{8,}/g, REDACTED],
  [/\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]{8,}/gi, `$1 ${REDACTED}`],
  // OpenAI-style and GitHub keys, AWS access key ids.
  [/\bsk-[A-Za-z0-9_-]{16,}/g, REDACTED],
  [/\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})/g, REDACTED],
  [/\bAKIA[0-9A-Z]{16}\b/g, REDACTED],
  // Private keys, whole.
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g, REDACTED],
  // Passwords in URLs: scheme://user:password@host.
  [/\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]+):[^\s@/]+@/gi, `$1:${REDACTED}@`],
];

/** Every form of `value` that is searched for: as is, URL-encoded, base64 and base64url. */
function formsOf(value: string): string[] {
  const forms = new Set([value, encodeURIComponent(value)]);
  const bytes = Buffer.from(value, 'utf8');
  forms.add(bytes.toString('base64').replace(/=+$/, ''));
  forms.add(bytes.toString('base64url'));
  return [...forms].filter((form) => form.length >= MIN_SECRET_LENGTH);
}

export type Redactor = (text: string) => string;

/** A redactor for these secret values (plus the well-known patterns). */
export function redactor(secrets: Iterable<string>): Redactor {
  const needles = [...new Set([...secrets].filter((s) => s.length >= MIN_SECRET_LENGTH).flatMap(formsOf))]
    // Longest first: a secret that contains another is replaced whole.
    .sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const needle of needles) if (out.includes(needle)) out = out.split(needle).join(REDACTED);
    for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
    return out;
  };
}
