import { runCli } from './cli.js';

// npm run cli -- <command>   (see apps/cli/README.md)
process.exitCode = await runCli(process.argv.slice(2));
