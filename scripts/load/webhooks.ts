import type { OutboundEvent } from "../../src/schemas/outbound-views.ts";
import type { LoadClient } from "./client.ts";
import type { Check } from "./reconcile.ts";
import type { Recorder } from "./recorder.ts";
import type { WebhookSummary } from "./report.ts";
import { listDeliveries, listEvents, waitForFinalDeliveries } from "./webhook-log.ts";
import { reconcileWebhooks } from "./webhook-reconcile.ts";
import type { WebhookTarget } from "./webhook-targets.ts";

/**
 * The outbound webhooks' part of a run after the load: wait (bounded) until every delivery to
 * the two endpoints has ended, read every event and both delivery logs, and hold them against
 * what the receivers saw. Returns the events too, for the checks that each was told once.
 */
export async function checkWebhooks(
  client: LoadClient,
  rec: Recorder,
  targets: WebhookTarget[],
  waitSeconds: number,
  signal: AbortSignal,
  say: (line: string) => void,
): Promise<{ checks: Check[]; summary: WebhookSummary; events: OutboundEvent[] }> {
  say(`waiting at most ${waitSeconds} s for every webhook delivery to be delivered or dead`);
  const waited = await waitForFinalDeliveries(client, targets, waitSeconds, signal, say);
  if (waited.pending > 0) say(`${waited.pending} webhook deliveries still pending at the deadline`);
  const events = await listEvents(client);
  const logs = await Promise.all(
    targets.map(async (target) => ({
      target,
      deliveries: await listDeliveries(client, target.endpointId),
    })),
  );
  const { checks, rows } = reconcileWebhooks(rec, events, logs);
  return { checks, summary: { rows, waitedSeconds: waited.seconds }, events };
}
