import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerDataStream } from 'smtp-server';

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: string;
}

/** An SMTP answer the sink gives instead of accepting: a reply code and text. */
export interface Refusal {
  responseCode: number;
  message: string;
}

/**
 * A real SMTP server on 127.0.0.1 (port 0) that collects what it accepts. `refuseData` makes it
 * answer DATA with an error (a 4xx is a temporary outage), `refuseRecipients` answers RCPT TO;
 * `down()` closes the listening socket (connections are refused) and `up()` listens again on
 * the same port.
 */
export class SmtpSink {
  readonly messages: ReceivedMail[] = [];
  refuseData: Refusal | undefined;
  refuseRecipients: Refusal | undefined;
  /** DATA commands answered (accepted or refused). */
  dataAttempts = 0;
  private server: SMTPServer | undefined;
  private portNumber = 0;

  get port(): number {
    return this.portNumber;
  }
  get url(): string {
    return `smtp://127.0.0.1:${this.portNumber}`;
  }

  async up(): Promise<void> {
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onRcptTo: (_address, _session, callback) => {
        if (this.refuseRecipients) return callback(smtpError(this.refuseRecipients));
        callback();
      },
      onData: (stream: SMTPServerDataStream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          this.dataAttempts++;
          if (this.refuseData) return callback(smtpError(this.refuseData));
          this.messages.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            raw: Buffer.concat(chunks).toString('utf8'),
          });
          callback();
        });
      },
    });
    server.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      const listening = server.listen(this.portNumber, '127.0.0.1', () => resolve());
      listening.once('error', reject);
    });
    this.portNumber = (server.server.address() as AddressInfo).port;
    this.server = server;
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Resolves once `count` messages arrived (rejects after timeoutMs). */
  async waitForMessages(count: number, timeoutMs = 10_000): Promise<ReceivedMail[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.messages.length < count) {
      if (Date.now() > deadline) throw new Error(`expected ${count} message(s), got ${this.messages.length}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return this.messages;
  }
}

function smtpError(refusal: Refusal): Error {
  return Object.assign(new Error(refusal.message), { responseCode: refusal.responseCode });
}

export async function startSmtpSink(): Promise<SmtpSink> {
  const sink = new SmtpSink();
  await sink.up();
  return sink;
}
