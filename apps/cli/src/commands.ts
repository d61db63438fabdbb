import { Inject } from '@nestjs/common';
import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import { ROLES, type Role } from '#access';
import type { ConnectionOptions } from './backend.js';
import { CLI_CONTEXT, type CliContext } from './cli-context.js';

const SERVER_HELP = 'server to call when DATABASE_URL is unset (default http://localhost:$PORT)';
const TOKEN_HELP = "admin token for the server (default: the contents of $DATA_DIR/admin.pat; a token on the command line shows in 'ps')";

/** The options every command shares. */
export abstract class ConnectedCommand extends CommandRunner {
  constructor(protected readonly cli: CliContext) {
    super();
  }

  @Option({ flags: '--server <url>', description: SERVER_HELP })
  parseServer(value: string) {
    return value;
  }

  @Option({ flags: '--token <token>', description: TOKEN_HELP })
  parseToken(value: string) {
    return value;
  }
}

/** A command that only groups others: run alone, it prints its help and exits 2 (a usage error). */
abstract class CommandGroup extends CommandRunner {
  constructor(private readonly cli: CliContext) {
    super();
  }
  async run(): Promise<void> {
    this.command.outputHelp();
    this.cli.exitCode = 2;
  }
}

@SubCommand({ name: 'create', description: 'create an organization; prints its id' })
export class OrgCreateCommand extends ConnectedCommand {
  constructor(@Inject(CLI_CONTEXT) cli: CliContext) {
    super(cli);
  }

  async run(_args: string[], options: ConnectionOptions & { name: string }): Promise<void> {
    await this.cli.withBackend(options, async (backend) => {
      const { orgId } = await backend.createOrg(options.name);
      this.cli.output.out(orgId);
    });
  }

  @Option({ flags: '--name <name>', description: 'name of the organization', required: true })
  parseName(value: string) {
    return value;
  }
}

@Command({ name: 'org', description: 'organizations', subCommands: [OrgCreateCommand] })
export class OrgCommand extends CommandGroup {
  constructor(@Inject(CLI_CONTEXT) cli: CliContext) {
    super(cli);
  }
}

@SubCommand({ name: 'create', description: 'create a machine user with one role and a personal access token; prints its id and the token (once)' })
export class MachineUserCreateCommand extends ConnectedCommand {
  constructor(@Inject(CLI_CONTEXT) cli: CliContext) {
    super(cli);
  }

  async run(_args: string[], options: ConnectionOptions & { name: string; role: Role; org?: string; username?: string }): Promise<void> {
    await this.cli.withBackend(options, async (backend) => {
      const { userId, token } = await backend.createMachineUser({
        name: options.name,
        role: options.role,
        ...(options.org ? { orgId: options.org } : {}),
        ...(options.username ? { username: options.username } : {}),
      });
      this.cli.output.out(`user id: ${userId}`);
      this.cli.output.out(`token: ${token}`);
      this.cli.output.err('The token is shown only this once: store it now.');
    });
  }

  @Option({ flags: '--name <name>', description: 'display name (also the username, lower case, unless --username)', required: true })
  parseName(value: string) {
    return value;
  }

  @Option({ flags: '--role <role>', description: 'role to grant', required: true, choices: [...ROLES] })
  parseRole(value: string) {
    // nest-commander's own argument parser replaces commander's choices check: check here.
    if (!(ROLES as readonly string[]).includes(value)) throw new Error(`--role: "${value}" is not a role; use one of ${ROLES.join(', ')}`);
    return value;
  }

  @Option({ flags: '--org <orgId>', description: "organization of the user (default: the caller's, i.e. the default organization)" })
  parseOrg(value: string) {
    return value;
  }

  @Option({ flags: '--username <username>', description: 'username, unique in the instance' })
  parseUsername(value: string) {
    return value;
  }
}

/** The --role check of the commands that name a role (nest-commander skips commander's choices check). */
function parseRoleOption(value: string): string {
  if (!(ROLES as readonly string[]).includes(value)) throw new Error(`--role: "${value}" is not a role; use one of ${ROLES.join(', ')}`);
  return value;
}

@SubCommand({ name: 'list', arguments: '<userId>', description: "list a machine user's personal access tokens: id, creation, expiry (never the token)" })
export class MachineUserTokensListCommand extends ConnectedCommand {
  constructor(@Inject(CLI_CONTEXT) cli: CliContext) {
    super(cli);
  }

  async run([userId]: string[], options: ConnectionOptions & { json?: boolean }): Promise<void> {
    await this.cli.withBackend(options, async (backend) => {
      const { tokens } = await backend.listTokens(userId!);
      if (options.json) {
        this.cli.output.out(JSON.stringify(tokens, null, 2));
        return;
      }
      if (tokens.length === 0) this.cli.output.err('no tokens');
      for (const token of tokens) this.cli.output.out(`${token.tokenId}  created ${token.createdAt}  ${token.expiresAt ? `expires ${token.expiresAt}` : 'never expires'}`);
    });
  }

  @Option({ flags: '--json', description: 'print the tokens as JSON' })
  parseJson() {
    return true;
  }
}

@SubCommand({ name: 'revoke', arguments: '<userId> <tokenId>', description: 'revoke a personal access token: the next request with it is refused' })
export class MachineUserTokensRevokeCommand extends ConnectedCommand {
  constructor(@Inject(CLI_CONTEXT) cli: CliContext) {
    super(cli);
  }

  async run([userId, tokenId]: string[], options: ConnectionOptions): Promise<void> {
    await this.cli.withBackend(options, async (backend) => {
      await backend.revokeToken(userId!, tokenId!);
      this.cli.output.out(`revoked token ${tokenId} of user ${userId}`);
    });
  }
}

@SubCommand({ name: 'tokens', description: "a machine user's personal access tokens", subCommands: [MachineUserTokensListCommand, MachineUserTokensRevokeCommand] })
export class MachineUserTokensCommand extends CommandGroup {
  constructor(@Inject(CLI_CONTEXT) cli: CliContext) {
    super(cli);
  }
}

@SubCommand({ name: 'remove', arguments: '<userId>', description: 'take a role away from a machine user: the next request needing it is refused' })
export class MachineUserRoleRemoveCommand extends ConnectedCommand {
  constructor(@Inject(CLI_CONTEXT) cli: CliContext) {
    super(cli);
  }

  async run([userId]: string[], options: ConnectionOptions & { role: Role; org?: string }): Promise<void> {
    await this.cli.withBackend(options, async (backend) => {
      await backend.removeRole(userId!, options.role, options.org);
      this.cli.output.out(`removed ${options.role}${options.org ? ` on ${options.org}` : ''} from user ${userId}`);
    });
  }

  @Option({ flags: '--role <role>', description: 'role to take away', required: true, choices: [...ROLES] })
  parseRole(value: string) {
    return parseRoleOption(value);
  }

  @Option({ flags: '--org <orgId>', description: "organization of an organization role (default: the user's)" })
  parseOrg(value: string) {
    return value;
  }
}

@SubCommand({ name: 'role', description: "a machine user's roles", subCommands: [MachineUserRoleRemoveCommand] })
export class MachineUserRoleCommand extends CommandGroup {
  constructor(@Inject(CLI_CONTEXT) cli: CliContext) {
    super(cli);
  }
}

@Command({
  name: 'machine-user',
  description: 'machine users',
  subCommands: [MachineUserCreateCommand, MachineUserTokensCommand, MachineUserRoleCommand],
})
export class MachineUserCommand extends CommandGroup {
  constructor(@Inject(CLI_CONTEXT) cli: CliContext) {
    super(cli);
  }
}

@SubCommand({
  name: 'sweep',
  description:
    'free, once, every username claim whose user never appeared (a crash between the claim and the user), older than the claim TTL; prints what it released and what it kept; idempotent',
})
export class UsernamesSweepCommand extends ConnectedCommand {
  constructor(@Inject(CLI_CONTEXT) cli: CliContext) {
    super(cli);
  }

  async run(_args: string[], options: ConnectionOptions & { json?: boolean }): Promise<void> {
    await this.cli.withBackend(options, async (backend) => {
      const sweep = await backend.sweepUsernames();
      if (options.json) {
        this.cli.output.out(JSON.stringify(sweep, null, 2));
        return;
      }
      for (const claim of sweep.released) {
        this.cli.output.out(`released ${claim.username}: claimed for user ${claim.userId} at ${claim.claimedAt}, the user never appeared`);
      }
      for (const claim of sweep.pending) {
        this.cli.output.out(`kept ${claim.username}: claimed for user ${claim.userId} at ${claim.claimedAt}, younger than the claim TTL (run again later)`);
      }
      this.cli.output.err(
        sweep.released.length + sweep.pending.length === 0
          ? 'no username claim without its user'
          : `${sweep.released.length} released, ${sweep.pending.length} kept`,
      );
    });
  }

  @Option({ flags: '--json', description: 'print the released and kept claims as JSON' })
  parseJson() {
    return true;
  }
}

@Command({ name: 'usernames', description: 'username claims', subCommands: [UsernamesSweepCommand] })
export class UsernamesCommand extends CommandGroup {
  constructor(@Inject(CLI_CONTEXT) cli: CliContext) {
    super(cli);
  }
}

@SubCommand({
  name: 'erase',
  arguments: '<userId>',
  description: "erase a user for good: deletes it if needed, destroys its data key and empties the personal fields its past events hold in plain text",
})
export class UsersEraseCommand extends ConnectedCommand {
  constructor(@Inject(CLI_CONTEXT) cli: CliContext) {
    super(cli);
  }

  async run([userId]: string[], options: ConnectionOptions): Promise<void> {
    await this.cli.withBackend(options, async (backend) => {
      const { rewritten, moved } = await backend.eraseUser(userId!);
      this.cli.output.out(`erased user ${userId}: ${rewritten} past events rewritten, ${moved} claim events moved to a hashed stream`);
    });
  }
}

@Command({ name: 'users', description: 'users (human and machine)', subCommands: [UsersEraseCommand] })
export class UsersCommand extends CommandGroup {
  constructor(@Inject(CLI_CONTEXT) cli: CliContext) {
    super(cli);
  }
}

export const COMMANDS = [
  UsersCommand,
  UsersEraseCommand,
  OrgCommand,
  OrgCreateCommand,
  MachineUserCommand,
  MachineUserCreateCommand,
  MachineUserTokensCommand,
  MachineUserTokensListCommand,
  MachineUserTokensRevokeCommand,
  MachineUserRoleCommand,
  MachineUserRoleRemoveCommand,
  UsernamesCommand,
  UsernamesSweepCommand,
];
