import { env } from "cloudflare:workers";

/**
 * Records every statement the worker runs (it runs in this isolate) with the rows SQLite read
 * and wrote for it, as D1 reports them in `meta`: the growth test's instrument.
 */

interface Counted {
  rowsRead: number;
  rowsWritten: number;
}
export type Recording = Map<string, Counted>;

let recording: Recording | null = null;

/** Starts a recording (or, with null, pauses it); returns the one it replaced. */
export function setRecording(next: Recording | null): Recording | null {
  const before = recording;
  recording = next;
  return before;
}
export const restore: (() => void)[] = [];

function record(sql: string, meta: { rows_read?: number; rows_written?: number } | undefined) {
  if (!recording) return;
  const key = sql.replace(/\s+/g, " ").trim();
  const seen = recording.get(key) ?? { rowsRead: 0, rowsWritten: 0 };
  // The most one execution read: a statement that scans reads more the fuller the table.
  seen.rowsRead = Math.max(seen.rowsRead, meta?.rows_read ?? Number.NaN);
  seen.rowsWritten = Math.max(seen.rowsWritten, meta?.rows_written ?? Number.NaN);
  recording.set(key, seen);
}

type Statement = D1PreparedStatement & { statement: string };

/** Wraps D1's statement and database methods (the worker runs in this isolate) to record. */
export function recordD1() {
  const statementProto = Object.getPrototypeOf(env.DB.prepare("SELECT 1")) as Record<
    string,
    unknown
  >;
  const databaseProto = Object.getPrototypeOf(env.DB) as Record<string, unknown>;
  const all = statementProto.all as (this: Statement) => Promise<D1Result>;
  const run = statementProto.run as (this: Statement) => Promise<D1Result>;
  const batch = databaseProto.batch as (
    this: D1Database,
    statements: Statement[],
  ) => Promise<D1Result[]>;
  const originals = { all, run, first: statementProto.first, batch };
  statementProto.all = async function (this: Statement) {
    const result = await all.call(this);
    record(this.statement, result.meta);
    return result;
  };
  statementProto.run = async function (this: Statement) {
    const result = await run.call(this);
    record(this.statement, result.meta);
    return result;
  };
  // `first` is `all` without its meta: the same statement, read through `all` to see the meta.
  statementProto.first = async function (this: Statement, column?: string) {
    const result = await all.call(this);
    record(this.statement, result.meta);
    const row = result.results[0] as Record<string, unknown> | undefined;
    if (row === undefined) return null;
    return column === undefined ? row : row[column];
  };
  databaseProto.batch = async function (this: D1Database, statements: Statement[]) {
    const results = await batch.call(this, statements);
    statements.forEach((s, i) => {
      record(s.statement, results[i]?.meta);
    });
    return results;
  };
  restore.push(() => {
    Object.assign(statementProto, {
      all: originals.all,
      run: originals.run,
      first: originals.first,
    });
    databaseProto.batch = originals.batch;
  });
}
