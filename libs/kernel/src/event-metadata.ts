/** What every event carries besides its payload: who, for which instance and organization, in which request. */
export interface EventMetadata {
  [key: string]: string;
  instanceId: string;
  /** The organization that owns the object (the user's org). */
  resourceOwner: string;
  /** The acting user; "system" for start-up work. */
  editor: string;
  correlationId: string;
}
