import type { DeliveryView, OutboundEvent } from "../../src/schemas/outbound-views.ts";
import type { LoadClient } from "./client.ts";
import type { WebhookTarget } from "./webhook-targets.ts";

/**
 * What the service says about its outbound webhooks, read through its API with the read key:
 * every test-mode event of the load app, and every delivery to an endpoint with its attempts
 * (both paginated to the end); and waiting, bounded, until no delivery is pending any more.
 */

const PAGE = 100;
/** How often the wait looks at the delivery log, and how often it says how far it is. */
const POLL_MS = 2_000;
const PROGRESS_MS = 10_000;

async function pages<T>(
  client: LoadClient,
  path: string,
  pick: (data: Record<string, unknown>) => T[] | undefined,
): Promise<T[]> {
  const all: T[] = [];
  let cursor: string | null = null;
  for (;;) {
    const url = new URL(path, client.stack.workerOrigin);
    url.searchParams.set("limit", String(PAGE));
    if (cursor) url.searchParams.set("cursor", cursor);
    const answer = await client.send(url.href, { headers: client.readHeaders });
    let data: Record<string, unknown> | undefined;
    try {
      data = (JSON.parse(answer.text) as { data?: Record<string, unknown> }).data;
    } catch {
      data = undefined;
    }
    const items = data ? pick(data) : undefined;
    if (answer.status !== "200" || !data || !items) {
      throw new Error(
        `GET ${url.pathname}${url.search}: ${answer.status} ${answer.text.slice(0, 300)}`,
      );
    }
    all.push(...items);
    cursor = typeof data.nextCursor === "string" ? data.nextCursor : null;
    if (!cursor) return all;
  }
}

export function listEvents(client: LoadClient): Promise<OutboundEvent[]> {
  return pages(client, "/api/v1/webhook-events?test=true", (data) =>
    Array.isArray(data.events) ? (data.events as OutboundEvent[]) : undefined,
  );
}

export function listDeliveries(client: LoadClient, endpointId: string): Promise<DeliveryView[]> {
  return pages(
    client,
    `/api/v1/webhook-deliveries?endpointId=${encodeURIComponent(endpointId)}`,
    (data) => (Array.isArray(data.deliveries) ? (data.deliveries as DeliveryView[]) : undefined),
  );
}

export interface WaitOutcome {
  seconds: number;
  /** Deliveries still pending when the wait ended (0 unless the deadline passed). */
  pending: number;
}

/**
 * Until every delivery to the targets is delivered, dead or canceled, or `seconds` passed, or
 * the run is interrupted; says how far it is every few seconds.
 */
export async function waitForFinalDeliveries(
  client: LoadClient,
  targets: WebhookTarget[],
  seconds: number,
  signal: AbortSignal,
  say: (line: string) => void,
): Promise<WaitOutcome> {
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let lastSaid = Number.NEGATIVE_INFINITY;
  for (;;) {
    const counts = await Promise.all(
      targets.map(async (target) => {
        const deliveries = await listDeliveries(client, target.endpointId);
        const pending = deliveries.filter((d) => d.status === "pending").length;
        return { name: target.name, total: deliveries.length, pending };
      }),
    );
    const pending = counts.reduce((sum, c) => sum + c.pending, 0);
    const now = performance.now();
    const elapsed = (now - started) / 1000;
    if (pending === 0 || now >= deadline || signal.aborted) {
      return { seconds: elapsed, pending };
    }
    if (now - lastSaid >= PROGRESS_MS) {
      lastSaid = now;
      say(
        `webhooks after ${Math.round(elapsed)} s (at most ${seconds} s): ${counts
          .map((c) => `${c.name} ${c.total - c.pending}/${c.total} final`)
          .join(", ")}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, deadline - now)));
  }
}
