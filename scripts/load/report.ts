import { Histogram } from "./histogram.ts";
import type { Check } from "./reconcile.ts";
import type { Recorder } from "./recorder.ts";
import type { Settings } from "./settings.ts";
import type { WebhookRow } from "./webhook-reconcile.ts";
import {
  ATTEMPTS_PER_DELIVERY,
  anyDeadOdds,
  DEAD_ODDS,
  FAIL_RATE,
  LOAD_RETRY_SECONDS,
} from "./webhook-schedule.ts";

/** The one table a load run ends with. */

function formatMs(ms: number): string {
  return Number.isNaN(ms)
    ? "-"
    : ms < 10
      ? ms.toFixed(2)
      : ms < 100
        ? ms.toFixed(1)
        : ms.toFixed(0);
}

/** The outbound webhooks' part of the table: one line per endpoint, and the schedule's odds. */
export interface WebhookSummary {
  rows: WebhookRow[];
  waitedSeconds: number;
}

function percent(p: number): string {
  return p < 0.0001 ? p.toExponential(1) : `${(p * 100).toFixed(2)} %`;
}

function webhookLines(summary: WebhookSummary, rule: string): string[] {
  const head = ["events", "requests", "delivered", "retried", "dead", "canceled", "pending"];
  const lines = [
    `${"webhook endpoint".padEnd(18)}${head.map((h) => h.padStart(11)).join("")}`,
    ...summary.rows.map(
      (row) =>
        `${row.name.padEnd(18)}${[
          row.events,
          row.requests,
          row.delivered,
          row.retried,
          row.dead,
          row.canceled,
          row.pending,
        ]
          .map((n) => String(n).padStart(11))
          .join("")}`,
    ),
  ];
  const failing = summary.rows.find((row) => row.failRate > 0);
  lines.push(
    `retry schedule ${LOAD_RETRY_SECONDS.join(",")} s (${ATTEMPTS_PER_DELIVERY} attempts); all failed at ${Math.round(FAIL_RATE * 100)} %: ${DEAD_ODDS.toExponential(1)} a delivery${failing ? `, ${percent(anyDeadOdds(failing.events))} for any of ${failing.events}` : ""}; waited ${summary.waitedSeconds.toFixed(1)} s for final states`,
  );
  lines.push(rule);
  return lines;
}

export function renderTable(
  rec: Recorder,
  settings: Settings,
  elapsedSeconds: number,
  checks: Check[],
  webhooks: WebhookSummary,
): string {
  const lines: string[] = [];
  const rule = "-".repeat(104);
  const all = new Histogram();
  for (const stats of rec.stats.values()) all.merge(stats.latency);
  lines.push(rule);
  lines.push(
    `requests ${rec.total}   duration ${elapsedSeconds.toFixed(1)} s   concurrency ${settings.concurrency}   ${(rec.total / elapsedSeconds).toFixed(1)} requests/s   rate limits ${settings.rateLimits ? "kept" : "lifted"}`,
  );
  lines.push(rule);
  lines.push(
    `${"kind".padEnd(22)}${"count".padStart(8)}  ${"statuses".padEnd(34)}${"p50 ms".padStart(9)}${"p99 ms".padStart(9)}${"unexpected".padStart(12)}${"wrong".padStart(7)}`,
  );
  let unexpected = 0;
  let wrong = 0;
  for (const [kind, stats] of rec.stats) {
    unexpected += stats.unexpected;
    wrong += stats.wrong;
    const statuses = [...stats.statuses]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([status, n]) => `${status}×${n}`)
      .join(" ");
    lines.push(
      `${kind.padEnd(22)}${String(stats.count).padStart(8)}  ${(statuses || "-").padEnd(34)}${formatMs(stats.latency.quantile(0.5)).padStart(9)}${formatMs(stats.latency.quantile(0.99)).padStart(9)}${String(stats.unexpected).padStart(12)}${String(stats.wrong).padStart(7)}`,
    );
  }
  lines.push(
    `${"all".padEnd(22)}${String(rec.total).padStart(8)}  ${"".padEnd(34)}${formatMs(all.quantile(0.5)).padStart(9)}${formatMs(all.quantile(0.99)).padStart(9)}${String(unexpected).padStart(12)}${String(wrong).padStart(7)}`,
  );
  lines.push(rule);
  lines.push(...webhookLines(webhooks, rule));
  for (const check of checks) {
    lines.push(
      `${check.name.padEnd(32)}${(check.pass ? "PASS" : "FAIL").padEnd(6)}${check.figures}`,
    );
  }
  lines.push(rule);
  return lines.join("\n");
}
