import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { Bindings } from "../../../src/env.ts";
import worker from "../../../src/index.ts";

export interface FaultPlan {
  /** Statements whose SQL matches fail when they run, `times` times (default: always). */
  d1?: { sql: RegExp; times?: number };
  /** KV reads fail, `times` times. */
  kvGet?: { times?: number };
}

/** A D1 binding whose matching statements fail like a lost connection would. */
function faultyDb(
  db: D1Database,
  plan: NonNullable<FaultPlan["d1"]>,
  counter: { left: number },
): D1Database {
  const fail = (sql: string) => {
    if (plan.sql.test(sql) && counter.left > 0) {
      counter.left -= 1;
      throw new Error("D1_ERROR: injected fault: network connection lost");
    }
  };
  // Every statement the worker holds (bound ones too) maps to its SQL, so a batch of bound
  // statements fails like the statements themselves would.
  const sqlOf = new WeakMap<D1PreparedStatement, string>();
  const wrap = (statement: D1PreparedStatement, sql: string): D1PreparedStatement => {
    const wrapped = new Proxy(statement, {
      get(target, prop) {
        if (prop === "bind") return (...args: unknown[]) => wrap(target.bind(...args), sql);
        if (prop === "run" || prop === "first" || prop === "all" || prop === "raw") {
          return async (...args: unknown[]) => {
            fail(sql);
            return (target[prop] as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    sqlOf.set(wrapped, sql);
    return wrapped;
  };
  return new Proxy(db, {
    get(target, prop) {
      if (prop === "prepare") return (sql: string) => wrap(target.prepare(sql), sql);
      if (prop === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          for (const s of statements) fail(sqlOf.get(s) ?? "");
          return target.batch(statements);
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

function faultyKv(kv: KVNamespace, counter: { left: number }): KVNamespace {
  return new Proxy(kv, {
    get(target, prop) {
      if (prop === "get" || prop === "getWithMetadata") {
        return async (...args: unknown[]) => {
          if (counter.left > 0) {
            counter.left -= 1;
            throw new Error("KV GET failed: injected fault: 503 Service Unavailable");
          }
          return (target[prop] as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** The worker's bindings, with D1 and KV failing as planned; the counters say how often they did. */
export function bindingsWithFaults(plan: FaultPlan) {
  const d1Counter = { left: plan.d1?.times ?? Number.POSITIVE_INFINITY };
  const kvCounter = { left: plan.kvGet?.times ?? (plan.kvGet ? Number.POSITIVE_INFINITY : 0) };
  const bindings = {
    ...env,
    DB: plan.d1 ? faultyDb(env.DB, plan.d1, d1Counter) : env.DB,
    APPS: plan.kvGet ? faultyKv(env.APPS, kvCounter) : env.APPS,
  } as Bindings;
  return { bindings, d1Counter, kvCounter };
}

/** Calls the worker with bindings that fail as planned; returns the response and its envelope. */
export async function callWithFaults(plan: FaultPlan, request: Request) {
  const { bindings: faulty, d1Counter, kvCounter } = bindingsWithFaults(plan);
  const response = await worker.fetch(
    request as Request<unknown, IncomingRequestCfProperties>,
    faulty,
    createExecutionContext(),
  );
  const body = (await response.json()) as {
    success: boolean;
    message: string | null;
    error: string | null;
    data: unknown;
  };
  return {
    status: response.status,
    body,
    injected: {
      d1: (plan.d1?.times ?? 0) - d1Counter.left,
      kv: (plan.kvGet?.times ?? 0) - kvCounter.left,
    },
  };
}
