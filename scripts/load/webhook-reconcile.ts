import type { DeliveryView, OutboundEvent } from "../../src/schemas/outbound-views.ts";
import type { ReceivedDelivery } from "../lib/webhook-receiver.ts";
import type { Check } from "./reconcile.ts";
import type { Recorder } from "./recorder.ts";
import type { WebhookTarget } from "./webhook-targets.ts";

/**
 * The outbound webhooks of a load run, held together: the events the service lists, its
 * delivery log per endpoint, and what each receiver saw. Every event reaches every endpoint:
 * the failed attempts first (same webhook-id, same body), then exactly one 2xx, and nothing
 * after it; the log's attempts are the receiver's requests, status for status.
 */

/** One line of the webhook table. */
export interface WebhookRow {
  name: string;
  failRate: number;
  events: number;
  /** Requests the receiver got (every attempt that reached it). */
  requests: number;
  delivered: number;
  /** Attempts beyond the first, over all deliveries. */
  retried: number;
  dead: number;
  canceled: number;
  pending: number;
}

export interface EndpointLog {
  target: WebhookTarget;
  deliveries: DeliveryView[];
}

const isSuccess = (status: number | null) => status !== null && status >= 200 && status < 300;

/** The same JSON text however it was spaced, so that the listed event and a body compare. */
function canonical(text: string): string | null {
  try {
    return JSON.stringify(JSON.parse(text));
  } catch {
    return null;
  }
}

interface Audit {
  row: WebhookRow;
  /** Events with no delivery to the endpoint, and deliveries or requests of no listed event. */
  missing: number;
  stray: number;
  /** Events the receiver never answered 2xx, and requests after its 2xx (a double delivery). */
  lost: number;
  afterSuccess: number;
  unverified: number;
  /** Bodies other than the listed event, and retries whose body differs from the first. */
  wrongBody: number;
  changedBody: number;
  /** Deliveries whose log does not show the receiver's answers, one for one. */
  logMismatch: number;
  /** Dead deliveries that had a 2xx attempt. */
  deadWithSuccess: number;
}

function audit(rec: Recorder, events: OutboundEvent[], log: EndpointLog): Audit {
  const { target } = log;
  const a: Audit = {
    row: {
      name: target.name,
      failRate: target.failRate,
      events: events.length,
      requests: 0,
      delivered: 0,
      retried: 0,
      dead: 0,
      canceled: 0,
      pending: 0,
    },
    missing: 0,
    stray: 0,
    lost: 0,
    afterSuccess: 0,
    unverified: 0,
    wrongBody: 0,
    changedBody: 0,
    logMismatch: 0,
    deadWithSuccess: 0,
  };
  const note = (what: string) => rec.note(`webhooks ${target.name}: ${what}`);
  const eventIds = new Set(events.map((e) => e.id));
  const byEvent = new Map(log.deliveries.map((d) => [d.eventId, d]));
  const received = new Map<string, ReceivedDelivery[]>();
  for (const request of target.receiver.deliveries) {
    a.row.requests++;
    const list = received.get(request.webhookId) ?? [];
    list.push(request);
    received.set(request.webhookId, list);
    if (!eventIds.has(request.webhookId)) {
      a.stray++;
      note(`a request with webhook-id ${request.webhookId}, which is no listed event`);
    }
  }
  for (const d of log.deliveries) {
    if (!eventIds.has(d.eventId)) {
      a.stray++;
      note(`a delivery of ${d.eventId}, which is no listed event`);
    }
  }

  for (const event of events) {
    const d = byEvent.get(event.id);
    const requests = received.get(event.id) ?? [];
    if (!d) {
      a.missing++;
      note(`${event.type} ${event.id} has no delivery`);
    } else {
      if (d.status === "delivered") a.row.delivered++;
      else if (d.status === "dead") a.row.dead++;
      else if (d.status === "canceled") a.row.canceled++;
      else a.row.pending++;
      a.row.retried += Math.max(0, d.attemptCount - 1);
      const logged = [...d.attempts].sort((x, y) => x.attempt - y.attempt);
      const loggedStatuses = logged.map((x) => x.statusCode).join(",");
      const seenStatuses = requests.map((r) => r.status).join(",");
      if (d.attemptCount !== logged.length || loggedStatuses !== seenStatuses) {
        a.logMismatch++;
        note(
          `${event.id}: the log has ${d.attemptCount} attempts [${loggedStatuses}] (${logged.map((x) => x.error ?? "ok").join("; ")}), the receiver saw [${seenStatuses}]`,
        );
      }
      if (d.status === "dead") {
        if (
          logged.some((x) => isSuccess(x.statusCode)) ||
          requests.some((r) => isSuccess(r.status))
        ) {
          a.deadWithSuccess++;
          note(`${event.id} is dead although an attempt got a 2xx`);
        } else {
          note(`${event.id} is dead after ${d.attemptCount} failed attempts: ${d.lastError}`);
        }
      }
    }

    const firstSuccess = requests.findIndex((r) => isSuccess(r.status));
    if (firstSuccess === -1) {
      a.lost++;
      note(
        `${event.type} ${event.id} never got a 2xx from the receiver (${requests.length} requests; the delivery is ${d?.status ?? "missing"})`,
      );
    } else if (firstSuccess < requests.length - 1) {
      a.afterSuccess += requests.length - 1 - firstSuccess;
      note(`${event.id} reached the receiver again after its 2xx (${requests.length} requests)`);
    }
    const want = JSON.stringify(event);
    const first = requests[0];
    for (const r of requests) {
      if (!r.verified) {
        a.unverified++;
        note(`${event.id}: a request that does not verify with the endpoint's secret`);
      }
      if (r !== first && r.body !== first?.body) {
        a.changedBody++;
        note(`${event.id}: a retry with another body than the first attempt`);
      }
    }
    if (first && canonical(first.body) !== want) {
      a.wrongBody++;
      note(`${event.id}: the body is not the listed event: ${first.body.slice(0, 200)}`);
    }
  }
  return a;
}

/** Each payment the load made is one checkout.completed event, and one payment_succeeded. */
function eventPerPayment(rec: Recorder, events: OutboundEvent[]): Check {
  const counts = (type: string) => {
    const byCheckout = new Map<string, number>();
    for (const e of events) {
      if (e.type !== type || e.object.kind !== "checkout" || e.object.id === null) continue;
      byCheckout.set(e.object.id, (byCheckout.get(e.object.id) ?? 0) + 1);
    }
    const paid = new Set(rec.completed.map((c) => c.id));
    let once = 0;
    for (const id of paid) if (byCheckout.get(id) === 1) once++;
    const extra = [...byCheckout].filter(([id, n]) => !paid.has(id) || n > 1).length;
    return { once, extra };
  };
  const completed = counts("checkout.completed");
  const succeeded = counts("checkout.payment_succeeded");
  const paid = rec.completed.length;
  const byType = new Map<string, number>();
  for (const e of events) byType.set(e.type, (byType.get(e.type) ?? 0) + 1);
  return {
    name: "7 an event per payment",
    pass:
      completed.once === paid &&
      succeeded.once === paid &&
      completed.extra <= rec.completionsUnknown &&
      succeeded.extra <= rec.completionsUnknown,
    figures: `${paid} paid: checkout.completed once ${completed.once}, payment_succeeded once ${succeeded.once}, of no payment or twice ${completed.extra + succeeded.extra}; ${events.length} events: ${[
      ...byType,
    ]
      .map(([type, n]) => `${type} ${n}`)
      .join(", ")}`,
  };
}

export function reconcileWebhooks(
  rec: Recorder,
  events: OutboundEvent[],
  logs: EndpointLog[],
): { checks: Check[]; rows: WebhookRow[] } {
  const checks: Check[] = [eventPerPayment(rec, events)];
  const audits = logs.map((log) => audit(rec, events, log));
  audits.forEach((a, i) => {
    const { row } = a;
    const healthy = row.failRate === 0;
    const common =
      a.missing === 0 &&
      a.stray === 0 &&
      a.lost === 0 &&
      a.afterSuccess === 0 &&
      a.unverified === 0 &&
      a.wrongBody === 0 &&
      a.changedBody === 0 &&
      a.logMismatch === 0 &&
      row.delivered === row.events;
    checks.push({
      name: `${8 + i} ${row.name}: ${healthy ? "each once" : "all delivered"}`,
      pass: common && (!healthy || (row.requests === row.events && row.retried === 0)),
      figures: `${row.delivered}/${row.events} delivered, ${row.requests} requests; not reached ${a.lost}, after a 2xx ${a.afterSuccess}, unverified ${a.unverified}, body not the event ${a.wrongBody}, retry body changed ${a.changedBody}, log not the receiver's ${a.logMismatch}, no delivery ${a.missing}, of no event ${a.stray}`,
    });
  });
  const dead = audits.reduce((sum, a) => sum + a.row.dead, 0);
  const deadWithSuccess = audits.reduce((sum, a) => sum + a.deadWithSuccess, 0);
  checks.push({
    name: `${8 + audits.length} dead only after failures`,
    pass: deadWithSuccess === 0,
    figures: `${dead} dead (the first named in the findings), of them with a 2xx attempt ${deadWithSuccess}`,
  });
  return { checks, rows: audits.map((a) => a.row) };
}
