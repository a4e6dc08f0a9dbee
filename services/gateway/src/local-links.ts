/**
 * In local mode (no AGENTPOD_SMTP_URL) identity and tenants hand sign-in and invitation links back to the
 * gateway instead of emailing them. The gateway prints each one once on its console, never in an HTTP response
 * and never through the logger (log lines are shipped and kept; a link is a credential).
 */
export type LocalLinkNotice = { kind: 'sign-in' | 'invitation'; email: string; link: string };

export function announceLocalLink(notice: LocalLinkNotice): void {
  const what = notice.kind === 'sign-in' ? 'sign-in link' : 'invitation link';
  process.stdout.write(
    `\nLOCAL MODE (no AGENTPOD_SMTP_URL, nothing was emailed): ${what} for ${notice.email}\n  ${notice.link}\n\n`,
  );
}
