import {
  OperationNodeTransformer,
  sql,
  TableNode,
  type Kysely,
  type KyselyPlugin,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryExecutorProvider,
  type QueryResult,
  type RootOperationNode,
  type UnknownRow,
} from 'kysely';
import type { ProjectionTable, VersionTarget } from './projection.js';

/**
 * A read model's tables, each declared once: its columns (SQL type, null or not, default), its
 * key, the column that makes its changes idempotent (`sequence`) and its indexes. From that one
 * declaration come the kysely row types (`DatabaseOf`), the DDL of a replay's `_vN` tables and
 * of verify's scratch tables, the columns `projections verify` hashes, and what the change
 * applier (apply-changes.ts) writes. Version 1's tables come from the read model's migrations,
 * written out as they ran (a deployed database keeps what a migration made), and each later
 * change of a declaration gets a forward migration that brings every version's tables to it.
 */

export type SqlType = 'text' | 'boolean' | 'integer' | 'timestamptz';

interface ValueOfSqlType {
  text: string;
  boolean: boolean;
  integer: number;
  timestamptz: Date;
}

/** One column; `T` is its value as the database driver returns it, `Optional` whether an insert may leave it out. */
export interface Column<T = unknown, Optional extends boolean = boolean> {
  readonly type: SqlType;
  readonly isNullable: boolean;
  /** The SQL default, also what the change applier writes when an insert leaves the column out. */
  readonly defaultValue: T | undefined;
  /** Types only. */
  readonly _value?: T;
  readonly _optional?: Optional;
  /** The column may hold null (and an insert that leaves it out writes null). */
  nullable(): Column<T | null, true>;
  /** An insert that leaves the column out writes `value`. */
  default(value: T): Column<T, true>;
}

function makeColumn<T, Optional extends boolean>(type: SqlType, isNullable: boolean, defaultValue: T | undefined): Column<T, Optional> {
  return {
    type,
    isNullable,
    defaultValue,
    nullable: () => makeColumn<T | null, true>(type, true, defaultValue),
    default: (value: T) => makeColumn<T, true>(type, isNullable, value),
  };
}

const columnOf =
  <S extends SqlType>(type: S) =>
  (): Column<ValueOfSqlType[S], false> =>
    makeColumn<ValueOfSqlType[S], false>(type, false, undefined);

/** Column constructors: `column.text()` is `text not null`, `column.text().nullable()` is `text`. */
export const column = {
  text: columnOf('text'),
  boolean: columnOf('boolean'),
  integer: columnOf('integer'),
  timestamptz: columnOf('timestamptz'),
};

export type Columns = Readonly<Record<string, Column>>;
type ValueOf<C> = C extends Column<infer T, boolean> ? T : never;
type OptionalKeys<C extends Columns> = { [K in keyof C]: C[K] extends Column<unknown, true> ? K : never }[keyof C];

/** A row as the database returns it. */
export type RowOf<C extends Columns> = { -readonly [K in keyof C]: ValueOf<C[K]> };
/** A row to insert: the columns with a default (or null) may be left out. */
export type InsertOf<C extends Columns> = { [K in Exclude<keyof C, OptionalKeys<C>>]: ValueOf<C[K]> } & {
  [K in OptionalKeys<C>]?: ValueOf<C[K]>;
};

/** A table as the applier and the DDL see it, without its types. */
export interface TableShape {
  /** Version 1's name, unqualified (`users`); other versions and scratch sets add a suffix. */
  readonly name: string;
  readonly columns: Columns;
  /** Every column, in the order of the DDL (and of verify's hash). */
  readonly columnNames: readonly string[];
  /** The primary key's columns. */
  readonly key: readonly string[];
  /** The integer column an update is guarded by: the update applies only when the row's value is below the new one. */
  readonly sequence: string;
  /** Index name suffix (the index is `<table>_<suffix>`) → its columns. */
  readonly indexes: Readonly<Record<string, readonly string[]>>;
}

/**
 * One change of one row, as a reducer returns it (apply-changes.ts applies it):
 *  - insert: the row, unless a row with its key exists;
 *  - update: the columns of `set` on the row of `key`, only if the row exists and its
 *    `sequence` column is below `set`'s: that is what makes reducing an event twice change
 *    nothing. An update that changes nothing skips the event's remaining changes (the event was
 *    already reduced, or its row is unknown);
 *  - upsert: the whole row (columns left out get their default), inserted or replacing the row;
 *  - delete: the row of `key`, if any;
 *  - deleteWhere: every row whose columns equal `where` (rows found by something other than
 *    their key, e.g. all sessions of a deleted user).
 * An `undefined` value leaves a column as it is (update) or gives it its default (insert, upsert).
 */
export type Change =
  | { readonly op: 'insert'; readonly table: TableShape; readonly row: Readonly<Record<string, unknown>> }
  | { readonly op: 'update'; readonly table: TableShape; readonly key: Readonly<Record<string, unknown>>; readonly set: Readonly<Record<string, unknown>> }
  | { readonly op: 'upsert'; readonly table: TableShape; readonly row: Readonly<Record<string, unknown>> }
  | { readonly op: 'delete'; readonly table: TableShape; readonly key: Readonly<Record<string, unknown>> }
  | { readonly op: 'deleteWhere'; readonly table: TableShape; readonly where: Readonly<Record<string, unknown>> };

export interface Table<Name extends string = string, C extends Columns = Columns, K extends keyof C & string = keyof C & string, S extends keyof C & string = keyof C & string>
  extends TableShape {
  readonly name: Name;
  readonly columns: C;
  readonly columnNames: ReadonlyArray<keyof C & string>;
  readonly key: readonly K[];
  readonly sequence: S;
  insert(row: InsertOf<C>): Change;
  /** `set` carries the new `sequence`: the guard. */
  update(key: Pick<RowOf<C>, K>, set: Partial<RowOf<C>> & Pick<RowOf<C>, S>): Change;
  upsert(row: InsertOf<C>): Change;
  delete(key: Pick<RowOf<C>, K>): Change;
  deleteWhere(where: Partial<RowOf<C>>): Change;
}

export function defineTable<Name extends string, C extends Columns, K extends keyof C & string, S extends keyof C & string>(
  name: Name,
  spec: { columns: C; key: readonly K[]; sequence: S; indexes?: Readonly<Record<string, ReadonlyArray<keyof C & string>>> },
): Table<Name, C, K, S> {
  if (!/^[a-z][a-z0-9_]*$/.test(name)) throw new RangeError(`not a table name: ${name}`);
  const table: Table<Name, C, K, S> = {
    name,
    columns: spec.columns,
    columnNames: Object.keys(spec.columns) as Array<keyof C & string>,
    key: spec.key,
    sequence: spec.sequence,
    indexes: spec.indexes ?? {},
    insert: (row) => ({ op: 'insert', table, row }),
    update: (key, set) => ({ op: 'update', table, key, set }),
    upsert: (row) => ({ op: 'upsert', table, row }),
    delete: (key) => ({ op: 'delete', table, key }),
    deleteWhere: (where) => {
      if (Object.keys(where).length === 0) throw new RangeError(`deleteWhere on ${name} needs at least one column`);
      return { op: 'deleteWhere', table, where };
    },
  };
  return table;
}

/** The tables of one read model, in one schema, in the order verify compares them. */
export interface ReadModel<T extends readonly Table[] = readonly Table[]> {
  readonly schema: string;
  readonly tables: T;
}

export function defineReadModel<const T extends readonly Table[]>(schema: string, tables: T): ReadModel<T> {
  return { schema, tables };
}

/** The kysely Database interface of a read model: its tables by (version 1's) name. */
export type DatabaseOf<M extends ReadModel> = { [X in M['tables'][number] as X['name']]: RowOf<X['columns']> };

/** The physical (schema-qualified) name of each table of one set: a version's or a scratch set's. */
export class TableNames<M extends ReadModel = ReadModel> {
  private readonly names = new Map<TableShape, string>();

  constructor(
    readonly model: M,
    readonly target: VersionTarget,
  ) {
    const suffix = suffixOf(target);
    for (const table of model.tables) this.names.set(table, `${model.schema}.${table.name}${suffix}`);
  }

  /** E.g. `projections.users_v7`. */
  of(table: TableShape): string {
    const name = this.names.get(table);
    if (name === undefined) throw new Error(`table ${table.name} is not one of the read model's`);
    return name;
  }

  all(): string[] {
    return this.model.tables.map((t) => this.of(t));
  }
}

/** Version 1: no suffix (the migration's tables); version N: `_vN`; scratch: `_<suffix>`. */
function suffixOf(target: VersionTarget): string {
  if ('version' in target) {
    if (!Number.isInteger(target.version) || target.version < 1) throw new RangeError(`not a version: ${target.version}`);
    return target.version === 1 ? '' : `_v${target.version}`;
  }
  if (!/^[a-z0-9_]+$/.test(target.scratch)) throw new RangeError(`not a table suffix: ${target.scratch}`);
  return `_${target.scratch}`;
}

const unqualified = (table: string) => table.slice(table.indexOf('.') + 1);

/** The tables of a set as `projections verify` compares them. */
export function projectionTables(names: TableNames): ProjectionTable[] {
  return names.model.tables.map((t) => ({ name: names.of(t), key: [...t.key], columns: [...t.columnNames] }));
}

/** Creates the (empty) tables of a set, with their keys and indexes. */
export async function createTables(db: QueryExecutorProvider, names: TableNames): Promise<void> {
  await sql`create schema if not exists ${sql.id(names.model.schema)}`.execute(db);
  for (const table of names.model.tables) {
    const name = names.of(table);
    const columns = table.columnNames.map((c) => {
      const col = table.columns[c]!;
      const notNull = col.isNullable ? sql`` : sql` not null`;
      const fallback = col.defaultValue === undefined || col.defaultValue === null ? sql`` : sql` default ${sql.lit(col.defaultValue)}`;
      return sql`${sql.id(c)} ${sql.raw(col.type)}${notNull}${fallback}`;
    });
    const key = sql`primary key (${sql.join(table.key.map((c) => sql.id(c)))})`;
    await sql`create table ${sql.table(name)} (${sql.join([...columns, key])})`.execute(db);
    for (const [suffix, indexed] of Object.entries(table.indexes)) {
      await sql`create index ${sql.id(`${unqualified(name)}_${suffix}`)} on ${sql.table(name)} (${sql.join(indexed.map((c) => sql.id(c)))})`.execute(db);
    }
  }
}

export async function dropTables(db: QueryExecutorProvider, names: TableNames, options: { ifExists?: boolean } = {}): Promise<void> {
  const ifExists = options.ifExists ?? true;
  for (const name of names.all().reverse()) {
    await (ifExists ? sql`drop table if exists ${sql.table(name)}` : sql`drop table ${sql.table(name)}`).execute(db);
  }
}

/**
 * A kysely view of one set of a read model's tables, typed by its Database interface: queries
 * name the tables as version 1 does (`users`) and run on the set's (`projections.users_v7`).
 */
export function readModelDb<M extends ReadModel>(db: Kysely<object>, names: TableNames<M>): Kysely<DatabaseOf<M>> {
  // The one place the untyped database handle (SqlDatabase.db) is given the read model's types.
  return db.withPlugin(new TableNamesPlugin(names)) as unknown as Kysely<DatabaseOf<M>>;
}

class TableNamesTransformer extends OperationNodeTransformer {
  private readonly physical = new Map<string, { schema: string; table: string }>();

  constructor(names: TableNames) {
    super();
    for (const table of names.model.tables) {
      const name = names.of(table);
      this.physical.set(table.name, { schema: names.model.schema, table: unqualified(name) });
    }
  }

  protected override transformTable(node: TableNode): TableNode {
    const transformed = super.transformTable(node);
    if (transformed.table.schema) return transformed;
    const physical = this.physical.get(transformed.table.identifier.name);
    return physical ? TableNode.createWithSchema(physical.schema, physical.table) : transformed;
  }
}

class TableNamesPlugin implements KyselyPlugin {
  private readonly transformer: TableNamesTransformer;

  constructor(names: TableNames) {
    this.transformer = new TableNamesTransformer(names);
  }

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return this.transformer.transformNode(args.node, args.queryId);
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}
