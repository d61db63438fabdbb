/** zitadel.object.v2.Details in domain terms: what a manipulation or a read returns. */
export interface ObjectDetails {
  /** On manipulation: the appended event's sequence; on read: the last reduced event's. */
  sequence: number;
  changeDate: Date;
  /** The organization that owns the object. */
  resourceOwner: string;
  /** On read: the time of the object's first event. Manipulations leave it out, as ZITADEL's do. */
  creationDate?: Date;
}
