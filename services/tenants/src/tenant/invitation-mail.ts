import type { Mail } from '@agentpod/kit';

/** The link an invitee opens; the token travels in the fragment, so it never reaches a server log or a Referer. */
export function invitationLink(publicUrl: string, token: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/invitations/accept#token=${token}`;
}

export function invitationMail(options: {
  to: string;
  tenantName: string;
  role: string;
  link: string;
  expiresAt: string;
}): Mail {
  const { to, tenantName, role, link, expiresAt } = options;
  return {
    to,
    subject: `You are invited to ${tenantName} on AgentPod`,
    text: [
      `You have been invited to join ${tenantName} on AgentPod as ${role}.`,
      '',
      'Sign in with this email address, then open this link to accept:',
      link,
      '',
      `The invitation expires at ${expiresAt}. If you did not expect it, ignore this email.`,
    ].join('\n'),
  };
}
