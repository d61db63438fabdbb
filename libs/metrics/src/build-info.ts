import { gauge } from './registry.js';

/**
 * `build_info{version,revision,node} 1`: which build is running, for dashboards to join on and
 * to see a roll-out progress. The revision comes from BUILD_REVISION when the image was built
 * with it, else "unknown".
 */
export function recordBuildInfo(info: { version: string; revision?: string }): void {
  gauge({ name: 'build_info', help: 'The running build (always 1)', labelNames: ['version', 'revision', 'node'] as const }).set(
    { version: info.version, revision: info.revision || 'unknown', node: process.version },
    1,
  );
}
