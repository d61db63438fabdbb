import type { EventStore, RecordedEvent } from '#eventstore';
import { readStreamOf } from '#kernel';
import { INSTANCE_STREAM, OrgEventType, type OrgEvent } from './events.js';

export interface Instance {
  instanceId: string;
  name: string;
  defaultOrgId: string;
  adminUserId?: string;
}

export interface InstanceState {
  instance?: Instance;
  version: number;
}

export function foldInstance(events: readonly RecordedEvent<OrgEvent>[]): InstanceState {
  let state: InstanceState = { version: 0 };
  for (const event of events) {
    if (event.type === OrgEventType.InstanceAdded && !state.instance) {
      const { data } = event;
      state = {
        instance: {
          instanceId: data.instanceId,
          name: data.name,
          defaultOrgId: data.defaultOrgId,
          ...(data.adminUserId ? { adminUserId: data.adminUserId } : {}),
        },
        version: event.sequence,
      };
    } else {
      state = { ...state, version: event.sequence };
    }
  }
  return state;
}

/** The deployment's instance, or undefined before the first start has created it. */
export async function readInstance(store: EventStore): Promise<Instance | undefined> {
  return foldInstance(await readStreamOf<OrgEvent>(store, INSTANCE_STREAM)).instance;
}

/**
 * Remembers the instance once it exists (it never changes afterwards), so that callers on
 * every request do not read its stream again.
 */
export class InstanceCache {
  private found?: Instance;
  constructor(private readonly store: EventStore) {}

  async get(): Promise<Instance | undefined> {
    this.found ??= await readInstance(this.store);
    return this.found;
  }
}
