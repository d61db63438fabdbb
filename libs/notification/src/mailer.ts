import { randomBytes } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createTransport } from 'nodemailer';

/** One email, ready to go. */
export interface OutgoingEmail {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** Names the outbox file (an event id): never anything secret. */
  reference: string;
}

export interface Delivery {
  /** The Message-ID header nodemailer generated. */
  messageId: string;
  /** Outbox mode: the `.eml` file written. */
  path?: string;
}

/**
 * Where emails go: an SMTP server (SMTP_URL), or `.eml` files in DATA_DIR/outbox. `send`
 * resolves once the SMTP server accepted the message (250 after DATA) or the file is complete;
 * it rejects with nodemailer's error (code, responseCode, command) otherwise.
 */
export interface Mailer {
  readonly kind: 'smtp' | 'outbox';
  send(email: OutgoingEmail): Promise<Delivery>;
  close(): void;
}

export const DEFAULT_SMTP_FROM = 'no-reply@localhost';

export interface SmtpMailerOptions {
  url: string;
  from?: string;
  /** Connecting, the greeting and an idle socket: short, so a hung server cannot hold stop() for long. */
  connectionTimeoutMs?: number;
  greetingTimeoutMs?: number;
  socketTimeoutMs?: number;
}

/** Through an SMTP server: one connection per message (nothing kept open across an outage). nodemailer's own logging stays off. */
export function smtpMailer(options: SmtpMailerOptions): Mailer {
  const transport = createTransport(
    {
      url: options.url,
      connectionTimeout: options.connectionTimeoutMs ?? 10_000,
      greetingTimeout: options.greetingTimeoutMs ?? 10_000,
      socketTimeout: options.socketTimeoutMs ?? 30_000,
      logger: false,
      debug: false,
    },
    { from: options.from ?? DEFAULT_SMTP_FROM },
  );
  return {
    kind: 'smtp',
    async send(email) {
      const info = await transport.sendMail({ to: email.to, subject: email.subject, text: email.text, html: email.html });
      return { messageId: info.messageId };
    },
    close() {
      transport.close();
    },
  };
}

/**
 * No SMTP server: nodemailer's stream transport builds the raw message and it is written to
 * `<dir>/<time>-<reference>.eml` (mode 0600: it holds the code), through a temporary file and a
 * rename, so a reader never sees half a message.
 */
export function outboxMailer(options: { dir: string; from?: string }): Mailer {
  const dir = resolve(options.dir);
  const transport = createTransport({ streamTransport: true, buffer: true, newline: 'unix' }, { from: options.from ?? DEFAULT_SMTP_FROM });
  return {
    kind: 'outbox',
    async send(email) {
      const info = await transport.sendMail({ to: email.to, subject: email.subject, text: email.text, html: email.html });
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      const safeReference = email.reference.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64);
      const path = join(dir, `${stamp}-${safeReference}.eml`);
      const temporary = join(dir, `.${stamp}-${randomBytes(6).toString('hex')}.tmp`);
      await writeFile(temporary, info.message as Buffer, { mode: 0o600 });
      await rename(temporary, path);
      return { messageId: info.messageId, path };
    },
    close() {
      transport.close();
    },
  };
}

/** SMTP when SMTP_URL is set, else the outbox in DATA_DIR/outbox. */
export function mailerFromConfig(config: { SMTP_URL?: string | undefined; SMTP_FROM?: string | undefined; DATA_DIR: string }): Mailer {
  const from = config.SMTP_FROM ?? DEFAULT_SMTP_FROM;
  return config.SMTP_URL ? smtpMailer({ url: config.SMTP_URL, from }) : outboxMailer({ dir: join(config.DATA_DIR, 'outbox'), from });
}

/**
 * An SMTP answer that will not change on a retry, for this one message: a 5xx to RCPT TO (the
 * recipient is refused) or to DATA (the content is). Everything else (no connection, time-outs,
 * 4xx, a 5xx to AUTH or MAIL FROM, which is a configuration an operator can fix) is retried.
 */
export function isPermanentForMessage(err: unknown): boolean {
  const { responseCode, command } = (err ?? {}) as { responseCode?: number; command?: string };
  return typeof responseCode === 'number' && responseCode >= 500 && responseCode < 600 && (command === 'RCPT TO' || command === 'DATA');
}

/**
 * What may be logged about a send failure: nodemailer's error code (as `errorCode`: the
 * logger redacts every `code` field), the SMTP reply code and command, the message.
 */
export function describeSendError(err: unknown): { errorCode?: string; responseCode?: number; command?: string; message: string } {
  const e = (err ?? {}) as { code?: unknown; responseCode?: unknown; command?: unknown; message?: unknown };
  return {
    ...(typeof e.code === 'string' ? { errorCode: e.code } : {}),
    ...(typeof e.responseCode === 'number' ? { responseCode: e.responseCode } : {}),
    ...(typeof e.command === 'string' ? { command: e.command } : {}),
    message: typeof e.message === 'string' ? e.message : String(err),
  };
}
