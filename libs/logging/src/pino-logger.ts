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
      formatters: { level: (label) => ({ level: label }) },
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
      // Belt and braces: should a header or a body ever reach a log line, these stay hidden.
      redact: { paths: ['req.headers.authorization', '*.token', '*.code', '*.password'], censor: '[redacted]' },
    },
    destination,
  );
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
