import { Inject } from '@nestjs/common';
import cliProgress from 'cli-progress';
import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import {
  formatStatus,
  formatVerifyReport,
  ReplayInterruptedError,
  type ReplayProgress,
} from '#projections/operations';
import type { ConnectionOptions } from './backend.js';
import { CLI_CONTEXT, type CliContext } from './cli-context.js';
import { ConnectedCommand } from './commands.js';

/** Exit code of `projections verify` when the read model differs from a fresh rebuild. */
export const VERIFY_DIFFERENT_EXIT = 3;
/** Exit code of an interrupted replay (as a shell gives for SIGINT). */
export const INTERRUPTED_EXIT = 130;

const number = (n: number) => Math.round(n).toLocaleString('en-US');

@SubCommand({
  name: 'status',
  description: "each read model's version, checkpoint, the store's head, the lag (events, seconds), its state and failure, a replay in progress",
})
export class ProjectionsStatusCommand extends ConnectedCommand {
  constructor(@Inject(CLI_CONTEXT) cli: CliContext) {
    super(cli);
  }

  async run(_args: string[], options: ConnectionOptions & { json?: boolean }): Promise<void> {
    await this.cli.withProjections(options, async (backend) => {
      const reports = await backend.status();
      if (options.json) this.cli.output.out(JSON.stringify(reports, null, 2));
      else for (const line of formatStatus(reports)) this.cli.output.out(line);
    });
  }

  @Option({ flags: '--json', description: 'print the status as JSON' })
  parseJson() {
    return true;
  }
}

/** A cli-progress bar on stderr: events done, rate, ETA (on a terminal; a line every 2 s otherwise). */
class ReplayBar {
  private bar: cliProgress.SingleBar | undefined;

  update(p: ReplayProgress): void {
    const payload = { projection: p.projection, version: p.version, rate: number(p.rate), phase: p.phase };
    if (!this.bar) {
      this.bar = new cliProgress.SingleBar(
        {
          format: '{projection} v{version} {phase} [{bar}] {percentage}% | {value}/{total} events | {rate} events/s | ETA {eta_formatted}',
          stream: process.stderr,
          noTTYOutput: true,
          notTTYSchedule: 2_000,
          etaBuffer: 20,
          hideCursor: true,
          formatValue: (v, _o, type) => (type === 'value' || type === 'total' ? number(v) : String(v)),
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(Math.max(p.total, 1), p.done, payload);
    }
    this.bar.setTotal(Math.max(p.total, p.done, 1));
    this.bar.update(p.done, payload);
  }

  stop(): void {
    this.bar?.stop();
  }
}

@SubCommand({
  name: 'replay',
  arguments: '<name>',
  description:
    'rebuild a read model from position zero into a new version while the service serves the old one, then switch (progress on stderr; Ctrl-C stops it, nothing switched)',
})
export class ProjectionsReplayCommand extends ConnectedCommand {
  constructor(@Inject(CLI_CONTEXT) cli: CliContext) {
    super(cli);
  }

  async run([name]: string[], options: ConnectionOptions & { batchSize?: number }): Promise<void> {
    const abort = new AbortController();
    const onSigint = () => {
      if (abort.signal.aborted) process.exit(INTERRUPTED_EXIT);
      this.cli.output.err('\nstopping after the batch in hand; nothing will be switched (Ctrl-C again to quit at once)');
      abort.abort();
    };
    process.on('SIGINT', onSigint);
    const bar = new ReplayBar();
    try {
      await this.cli.withProjections(options, async (backend) => {
        try {
          const result = await backend.replay(name!, options.batchSize ? { batchSize: options.batchSize } : {}, {
            signal: abort.signal,
            onProgress: (p) => bar.update(p),
            onNote: (line) => this.cli.output.err(line),
          });
          bar.stop();
          this.cli.output.out(
            `${result.projection}: version ${result.version} is active (replaced version ${result.previousVersion}, kept until the next replay); ` +
              `${number(result.events)} events in ${result.seconds.toFixed(1)} s, ${number(result.rate)} events/s; tables ${result.tables.join(', ')}`,
          );
        } catch (err) {
          bar.stop();
          if (!(err instanceof ReplayInterruptedError)) throw err;
          this.cli.output.err(`interrupted: ${err.message}`);
          this.cli.exitCode = INTERRUPTED_EXIT;
        }
      });
    } finally {
      process.off('SIGINT', onSigint);
    }
  }

  @Option({ flags: '--batch-size <events>', description: 'events per transaction (default 5000 on server PostgreSQL, 1000 embedded)' })
  parseBatchSize(value: string) {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > 100_000) throw new Error(`--batch-size: "${value}" is not a whole number from 1 to 100000`);
    return n;
  }
}

@SubCommand({
  name: 'verify',
  arguments: '<name>',
  description: `rebuild a read model into scratch tables up to its checkpoint and compare rows and checksums; exit ${VERIFY_DIFFERENT_EXIT} on a difference`,
})
export class ProjectionsVerifyCommand extends ConnectedCommand {
  constructor(@Inject(CLI_CONTEXT) cli: CliContext) {
    super(cli);
  }

  async run([name]: string[], options: ConnectionOptions & { json?: boolean }): Promise<void> {
    await this.cli.withProjections(options, async (backend) => {
      const report = await backend.verify(name!);
      if (options.json) this.cli.output.out(JSON.stringify(report, null, 2));
      else for (const line of formatVerifyReport(report)) this.cli.output.out(line);
      if (!report.equal) {
        this.cli.output.err(`error: ${report.projection} differs from a fresh rebuild (see above); \`projections replay ${report.projection}\` rebuilds it`);
        this.cli.exitCode = VERIFY_DIFFERENT_EXIT;
      }
    });
  }

  @Option({ flags: '--json', description: 'print the report as JSON' })
  parseJson() {
    return true;
  }
}

@Command({
  name: 'projections',
  description: 'read models: status, replay <name>, verify <name>',
  subCommands: [ProjectionsStatusCommand, ProjectionsReplayCommand, ProjectionsVerifyCommand],
})
export class ProjectionsCommand extends CommandRunner {
  constructor(@Inject(CLI_CONTEXT) private readonly cli: CliContext) {
    super();
  }
  async run(): Promise<void> {
    this.command.outputHelp();
    this.cli.exitCode = 2;
  }
}

export const PROJECTION_COMMANDS = [ProjectionsCommand, ProjectionsStatusCommand, ProjectionsReplayCommand, ProjectionsVerifyCommand];
