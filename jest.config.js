// ESM all the way: @zitadel/proto ships no working CommonJS build (see docs/decisions.md).
import { readFileSync } from 'node:fs';

// Units import each other by name ("#user", "#eventstore/testing"): package.json "imports" maps
// each name to its entry; tests run the TypeScript sources (the "source" condition).
const { imports } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));
const unitNames = Object.fromEntries(
  Object.entries(imports).map(([name, target]) => [`^${name}$`, `<rootDir>/${target.source.replace(/^\.\//, '')}`]),
);

/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/apps', '<rootDir>/libs', '<rootDir>/projections', '<rootDir>/test'],
  testMatch: ['**/*.spec.ts', '**/*.e2e.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { ...unitNames, '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: {
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true },
          target: 'es2022',
        },
        module: { type: 'es6' },
      },
    ],
  },
  // Two workers on CI's two cores: much of a suite's time is spent waiting (server PostgreSQL,
  // child processes, sockets), so two files side by side finish well before one after the other.
  maxWorkers: 2,
  // End-to-end suites start real servers; on a loaded 2-core CI machine that can take a while.
  testTimeout: 60000,
  // A suite that fails half-way on a loaded machine can leave a server socket or a child
  // process's pipe open; the run must still end with its verdict instead of hanging CI.
  forceExit: true,
};
