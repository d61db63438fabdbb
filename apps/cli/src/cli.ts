import 'reflect-metadata';
import { useRolePermissions } from '#access';
import { Injectable, Module } from '@nestjs/common';
import { CommandFactory, CommandRunnerService, InjectCommander } from 'nest-commander';
import { ConfigError, loadConfig } from '#config';
import type { CliOutput } from './backend.js';
import { CLI_CONTEXT, CliContext } from './cli-context.js';
import { COMMANDS } from './commands.js';
import { PROJECTION_COMMANDS } from './projection-commands.js';

export const CLI_NAME = 'npm run cli --';

export interface CliIo extends CliOutput {
  /** Raw writes (commander's help and usage errors). */
  writeOut(text: string): void;
  writeErr(text: string): void;
}

export const processIo: CliIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  writeOut: (text) => process.stdout.write(text),
  writeErr: (text) => process.stderr.write(text),
};

@Injectable()
class ProgramName {
  constructor(@InjectCommander() commander: { name(name: string): unknown; description(text: string): unknown }) {
    commander.name(CLI_NAME);
    commander.description('Operators\' CLI: organizations, machine users, username claims (usernames sweep), and the read models (projections status|replay|verify)');
  }
}

/**
 * Runs one CLI invocation (nest-commander on a Nest application context) and returns the exit
 * code: 0 done, 1 failed, 2 usage (a command without its subcommand), 3 `projections verify` found a difference,
 * 78 bad configuration, 130 an interrupted replay.
 */
export async function runCli(argv: string[], env: NodeJS.ProcessEnv = process.env, io: CliIo = processIo): Promise<number> {
  let config;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      io.err(err.message);
      return 78;
    }
    throw err;
  }
  // The CLI's direct backend runs commands here, so it checks permissions with the same table.
  useRolePermissions(config.ROLE_PERMISSIONS);
  const context = new CliContext(config, io);

  @Module({ providers: [{ provide: CLI_CONTEXT, useValue: context }, ProgramName, ...COMMANDS, ...PROJECTION_COMMANDS] })
  class CliModule {}

  let commanderExit: number | undefined;
  const app = await CommandFactory.createWithoutRunning(CliModule, {
    logger: false,
    // commander would call process.exit; throw instead, and keep its exit code.
    errorHandler: (err) => {
      throw err;
    },
    serviceErrorHandler: (err) => {
      const code = (err as { exitCode?: unknown }).exitCode;
      commanderExit = typeof code === 'number' ? code : 1;
      if (typeof code !== 'number') io.err(`error: ${err.message}`);
    },
    outputConfiguration: { writeOut: (text) => io.writeOut(text), writeErr: (text) => io.writeErr(text) },
  });
  try {
    await app.get(CommandRunnerService).run(['node', CLI_NAME, ...argv]);
  } finally {
    await app.close();
  }
  return commanderExit ?? context.exitCode;
}
