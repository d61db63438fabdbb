import type { Counter, Registry } from 'prom-client';
import { counter, metricsRegistry } from '#metrics';

/** Why a code's email was not sent (besides expiry, which has its own counter). */
export type SkipReason =
  | 'already_sent'
  | 'superseded'
  | 'session_ended'
  | 'no_recipient'
  | 'user_removed'
  | 'undecryptable'
  | 'rejected';

export interface NotifierMetrics {
  sent: Counter<'kind' | 'transport'>;
  droppedExpired: Counter<'kind'>;
  skipped: Counter<'kind' | 'reason'>;
  sendFailures: Counter<'kind'>;
}

/**
 * The notifier's counters, on the process's registry (libs/metrics, served at GET /metrics) or
 * on the one given (tests). Registered once per registry.
 */
export function notifierMetrics(registry: Registry = metricsRegistry): NotifierMetrics {
  return {
    sent: counter(
      { name: 'notification_sent_total', help: 'Emails handed to the SMTP server or written to the outbox', labelNames: ['kind', 'transport'] as const },
      registry,
    ),
    droppedExpired: counter(
      { name: 'notification_dropped_expired_total', help: 'Codes that expired before their email could be sent', labelNames: ['kind'] as const },
      registry,
    ),
    skipped: counter(
      {
        name: 'notification_skipped_total',
        help: 'Codes whose email was not sent, by reason (already sent, superseded by a newer code, no address, ...)',
        labelNames: ['kind', 'reason'] as const,
      },
      registry,
    ),
    sendFailures: counter(
      { name: 'notification_send_failures_total', help: 'Failed attempts to send an email (each retry counts)', labelNames: ['kind'] as const },
      registry,
    ),
  };
}
