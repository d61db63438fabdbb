import type { LoggerService, LogLevel } from '@nestjs/common';
import { pino, type Logger, type LevelWithSilent } from 'pino';
import { requestContext } from './request-context.js';

export type { Logger } from 'pino';

/** The process's one JSON logger. Secrets never go in log fields: log ids, not codes or tokens. */
export function createLogger(level: LevelWithSilent = 'info', destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'otp-email-identity' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }), log: redactSecrets },
      // A field a child logger already binds (`projection`, `component`) is not written twice
      // when a call passes it again: a JSON line with a repeated key is refused by strict parsers.
      hooks: {
        logMethod(args, method) {
          const [fields] = args as unknown[];
          if (fields && typeof fields === 'object' && !(fields instanceof Error)) {
            const bound = keysBoundTo(this);
            if (Object.keys(fields).some((key) => bound.has(key))) {
              const kept = Object.fromEntries(Object.entries(fields).filter(([key]) => !bound.has(key)));
              (args as unknown[])[0] = kept;
            }
          }
          return method.apply(this, args);
        },
      },
      // Every line written while a request is handled names it, whichever logger wrote it.
      mixin: () => {
        const request = requestContext.getStore();
        return request ? { requestId: request.requestId } : {};
      },
    },
    destination,
  );
}

const SECRET_FIELDS = new Set(['token', 'code', 'password']);
export const REDACTED = '[redacted]';

/**
 * Belt and braces: should a header or a body ever reach a log line, its secrets stay hidden.
 * `token`, `code` and `password` one level down in a line's fields (`{ body: { code } }`) and
 * the authorization header of a logged `req` read as REDACTED; the caller's objects are not
 * changed (copies are). Errors pass as they are: their `code` is the system's (ECONNREFUSED),
 * what an operator needs. Top-level fields are the caller's own choice (`code` of a failed
 * start). Written here instead of pino's `redact`, whose paths cost 2.9 µs and ~10 KB of
 * garbage per line (each line copied, each path parsed again), the access log's one per request
 * included.
 */
export function redactSecrets(fields: Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const key in fields) {
    const value = fields[key];
    const hidden = withoutSecrets(value, key === 'req');
    if (hidden !== value) (out ??= { ...fields })[key] = hidden;
  }
  return out ?? fields;
}

function withoutSecrets(value: unknown, isRequest: boolean): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Error) return value;
  const object = value as Record<string, unknown>;
  let copy: Record<string, unknown> | undefined;
  for (const field in object) if (SECRET_FIELDS.has(field)) (copy ??= { ...object })[field] = REDACTED;
  const headers = object['headers'];
  if (isRequest && headers !== null && typeof headers === 'object' && 'authorization' in headers) {
    (copy ??= { ...object })['headers'] = { ...headers, authorization: REDACTED };
  }
  return copy ?? value;
}

/**
 * The keys a logger binds, read once per logger: `bindings()` parses the logger's serialized
 * bindings on every call, and the hook above runs for every line (the access log's one per
 * request). Bindings are fixed when a logger is made (nothing here calls setBindings).
 */
const boundKeys = new WeakMap<Logger, ReadonlySet<string>>();
function keysBoundTo(logger: Logger): ReadonlySet<string> {
  let keys = boundKeys.get(logger);
  if (!keys) {
    keys = new Set(Object.keys(logger.bindings()));
    boundKeys.set(logger, keys);
  }
  return keys;
}

const START_UP_CONTEXTS = new Set(['NestFactory', 'InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'NestApplication']);

/** Routes NestJS's own log calls (module init, route mapping, errors) through pino. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, ...rest: unknown[]) {
    this.write('info', message, rest);
  }
  error(message: unknown, ...rest: unknown[]) {
    // Nest passes (message, stack?, context?).
    const context = rest.length > 0 && typeof rest[rest.length - 1] === 'string' ? (rest.pop() as string) : undefined;
    const stack = typeof rest[0] === 'string' ? rest[0] : undefined;
    const err = message instanceof Error ? message : undefined;
    this.logger.error({ context, err, stack }, err ? err.message : String(message));
  }
  warn(message: unknown, ...rest: unknown[]) {
    this.write('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]) {
    this.write('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]) {
    this.write('trace', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]) {
    this.write('fatal', message, rest);
  }
  setLogLevels?(_levels: LogLevel[]): void {}

  private write(level: 'info' | 'warn' | 'debug' | 'trace' | 'fatal', message: unknown, rest: unknown[]) {
    const context = typeof rest[rest.length - 1] === 'string' ? (rest[rest.length - 1] as string) : undefined;
    // Nest's start-up narration (every module, every route mapped) is detail, not news.
    if (level === 'info' && context && START_UP_CONTEXTS.has(context)) level = 'debug';
    if (typeof message === 'object' && message !== null) this.logger[level]({ context, ...message });
    else this.logger[level]({ context }, String(message));
  }
}

export const LOGGER = Symbol('Logger');
