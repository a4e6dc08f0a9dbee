import { AppError } from '@agentpod/contracts';
import nodemailer from 'nodemailer';
import { z } from 'zod';
import type { Logger } from './logger.ts';

/** Mail settings shared by the services that send email (sign-in links, invitations, alerts). */
export const MailEnv = z.object({
  /** smtp://user:pass@host:587 or smtps://…:465. Unset = local mode: links are printed by the gateway instead. */
  AGENTPOD_SMTP_URL: z
    .string()
    .refine((value) => /^smtps?:\/\//.test(value), 'must start with smtp:// or smtps://')
    .optional(),
  AGENTPOD_MAIL_FROM: z.string().min(3).default('AgentPod <agentpod@localhost>'),
  /** The URL people reach the console at; every link in every email is built from it, never from a request. */
  AGENTPOD_PUBLIC_URL: z.url().default('http://127.0.0.1:8080'),
});
export type MailEnv = z.infer<typeof MailEnv>;

export type Mail = { to: string; subject: string; text: string; html?: string };

export type Mailer =
  | { mode: 'smtp'; send(mail: Mail): Promise<void>; close(): void }
  | { mode: 'local'; send(mail: Mail): Promise<void>; close(): void };

/**
 * An SMTP mailer (nodemailer) when AGENTPOD_SMTP_URL is set; otherwise local mode, where nothing is sent and the
 * caller hands the link back to the gateway to print. A mail's content is never logged in SMTP mode.
 */
export function createMailer(config: MailEnv, logger: Logger): Mailer {
  if (!config.AGENTPOD_SMTP_URL) {
    return {
      mode: 'local',
      send: async () => {
        throw new AppError('unavailable', 'no SMTP server is configured (AGENTPOD_SMTP_URL)');
      },
      close: () => {},
    };
  }
  // nodemailer waits 2 minutes to connect and 10 for a silent socket by default; a stalled provider must not hold
  // a request or a shutdown that long.
  const transport = nodemailer.createTransport({
    url: config.AGENTPOD_SMTP_URL,
    connectionTimeout: 15_000,
    greetingTimeout: 15_000,
    socketTimeout: 30_000,
  });
  return {
    mode: 'smtp',
    async send(mail) {
      try {
        await transport.sendMail({ from: config.AGENTPOD_MAIL_FROM, ...mail });
        logger.info({ subject: mail.subject }, 'email sent');
      } catch (error) {
        // Only codes: an SMTP server's reply (part of the error message) may quote the recipient's address.
        const { code, responseCode } = error as { code?: string; responseCode?: number };
        logger.error({ code, responseCode, subject: mail.subject }, 'email could not be sent');
        throw new AppError('unavailable', 'the email could not be sent; try again later', { cause: error });
      }
    },
    close: () => transport.close(),
  };
}
