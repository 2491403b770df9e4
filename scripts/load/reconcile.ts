import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import path from "node:path";
import { promisify } from "node:util";
import { type LocalStack, repoRoot } from "../lib/local-stack.ts";
import type { DoubleSessionSummaries } from "../stripe-double-server.ts";
import type { Recorder } from "./recorder.ts";

/** What the clients were told, held against what D1 and the Stripe double hold after the load. */

const run = promisify(execFile);
const wranglerJs = path.join(repoRoot, "node_modules", "wrangler", "bin", "wrangler.js");

interface Row {
  id: string;
  hash: string;
  stripe_session_id: string | null;
  state_digest: string;
  status: string;
  payment_status: string | null;
}

export interface Check {
  name: string;
  pass: boolean;
  figures: string;
}

export async function queryRows(stack: LocalStack): Promise<Row[]> {
  const sql =
    "SELECT id, hash, stripe_session_id, state_digest, status, payment_status FROM checkout_sessions";
  const { stdout } = await run(
    process.execPath,
    [
      wranglerJs,
      "d1",
      "execute",
      "DB",
      "--local",
      "--config",
      stack.configPath,
      "--persist-to",
      stack.persistDir,
      "--json",
      "--command",
      sql,
    ],
    {
      cwd: path.dirname(stack.configPath),
      env: { ...process.env, FORCE_COLOR: "0", WRANGLER_SEND_METRICS: "false" },
      maxBuffer: 1024 * 1024 * 1024,
    },
  );
  const parsed = JSON.parse(stdout.slice(stdout.indexOf("["))) as { results: Row[] }[];
  return parsed.flatMap((result) => result.results);
}

const sha256Hex = (text: string) => createHash("sha256").update(text).digest("hex");

export function reconcile(rec: Recorder, rows: Row[], double: DoubleSessionSummaries): Check[] {
  const checks: Check[] = [];
  const rowsByHash = new Map(rows.map((row) => [row.hash, row]));
  const digestCounts = new Map<string, number>();
  for (const row of rows)
    digestCounts.set(row.state_digest, (digestCounts.get(row.state_digest) ?? 0) + 1);
  const sharedDigests = [...digestCounts.values()].filter((n) => n > 1).length;
  const sentDigests = new Set(rec.created.map((c) => sha256Hex(c.state)));

  // 1. Every 200 create has exactly one row, and one row per distinct state.
  let missing = 0;
  for (const c of rec.created) {
    const row = rowsByHash.get(c.hash);
    if (!row || row.stripe_session_id !== c.id || row.state_digest !== sha256Hex(c.state)) {
      missing++;
      rec.note(`create ${c.id}/${c.hash} has no matching row`);
    }
  }
  const extraRows = rows.filter((row) => !sentDigests.has(row.state_digest)).length;
  checks.push({
    name: "1 a row per created checkout",
    pass: missing === 0 && sharedDigests === 0 && extraRows === 0,
    figures: `${rec.created.length} states created, ${rows.length} rows; missing ${missing}, rows of no create ${extraRows}, states with >1 row ${sharedDigests}`,
  });

  // 2. Every row has exactly one session at the double, and the double none without a row.
  const sessionsById = new Map(double.sessions.map((s) => [s.id, s]));
  const rowIds = new Set(rows.map((row) => row.stripe_session_id));
  let rowsWithoutSession = 0;
  for (const row of rows) {
    const session = row.stripe_session_id ? sessionsById.get(row.stripe_session_id) : undefined;
    if (!session || session.checkoutHash !== row.hash) rowsWithoutSession++;
  }
  const orphanSessions = double.sessions.filter((s) => !rowIds.has(s.id)).length;
  const hashCounts = new Map<string, number>();
  for (const s of double.sessions)
    hashCounts.set(s.checkoutHash ?? "", (hashCounts.get(s.checkoutHash ?? "") ?? 0) + 1);
  const duplicateSessions = [...hashCounts.values()].filter((n) => n > 1).length;
  checks.push({
    name: "2 one Stripe session per row",
    pass:
      rowsWithoutSession === 0 &&
      orphanSessions === 0 &&
      duplicateSessions === 0 &&
      double.sessions.length === rows.length,
    figures: `${double.sessions.length} sessions at the double (${double.createRequests} create calls), ${rows.length} rows; rows without session ${rowsWithoutSession}, sessions without row ${orphanSessions}, hashes with >1 session ${duplicateSessions}`,
  });

  // 3. Nothing left pending.
  const byStatus = new Map<string, number>();
  for (const row of rows) byStatus.set(row.status, (byStatus.get(row.status) ?? 0) + 1);
  const pending = byStatus.get("pending") ?? 0;
  checks.push({
    name: "3 no row left pending",
    pass: pending === 0,
    figures: [...byStatus].map(([status, n]) => `${status} ${n}`).join(", ") || "no rows",
  });

  // 4. Every session paid at the double is complete (and paid, or refunded as the load
  // refunded it) in D1: webhooks applied.
  let notComplete = 0;
  for (const c of rec.completed) {
    const row = rowsByHash.get(c.hash);
    const statuses = rec.billing.paymentStatusesOf(c);
    if (row?.status !== "complete" || !statuses.includes(row.payment_status ?? "")) {
      notComplete++;
      rec.note(`paid ${c.id} is ${row?.status}/${row?.payment_status} in D1, not ${statuses}`);
    }
  }
  const completeRows = byStatus.get("complete") ?? 0;
  const completeAtDouble = double.sessions.filter((s) => s.status === "complete").length;
  checks.push({
    name: "4 payments reached D1",
    pass:
      notComplete === 0 &&
      completeRows === rec.completed.length &&
      completeAtDouble === rec.completed.length,
    figures: `${rec.completed.length} paid at the double (${completeAtDouble} complete there), ${completeRows} rows complete; not complete+paid (or refunded as made) ${notComplete}${rec.completionsUnknown ? `, outcome unknown ${rec.completionsUnknown}` : ""}`,
  });

  // 5. Repeats told the original; conflicts were refused.
  checks.push({
    name: "5 repeats same, conflicts 409",
    pass:
      rec.repeatMismatches === 0 &&
      rec.conflicts409 === rec.conflictsSent - rec.conflictsRateLimited,
    figures: `${rec.repeatsCompared - rec.repeatMismatches}/${rec.repeatsCompared} repeats and twins same id+hash, ${rec.conflicts409}/${rec.conflictsSent - rec.conflictsRateLimited} conflicts 409${rec.conflictsRateLimited ? ` (${rec.conflictsRateLimited} more rate limited)` : ""}`,
  });

  // 6. Every answer was one its request may get.
  let unexpected = 0;
  let wrong = 0;
  let serverErrors = 0;
  for (const stats of rec.stats.values()) {
    unexpected += stats.unexpected;
    wrong += stats.wrong;
    for (const [status, n] of stats.statuses) if (status.startsWith("5")) serverErrors += n;
  }
  checks.push({
    name: "6 only expected answers",
    pass: unexpected === 0 && wrong === 0,
    figures: `unexpected statuses ${unexpected} (5xx ${serverErrors}), wrong content ${wrong}`,
  });
  return checks;
}
