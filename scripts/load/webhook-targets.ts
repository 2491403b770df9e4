import { startWebhookReceiver, type WebhookReceiver } from "../lib/webhook-receiver.ts";
import type { LoadClient } from "./client.ts";
import { seededRandom } from "./seeded-random.ts";
import { FAIL_RATE } from "./webhook-schedule.ts";

/**
 * The two webhook endpoints of a load run: a loopback receiver that answers every delivery 204,
 * and one that answers a seeded 30 % of them 503; each registered for the load app in test mode
 * (all event types) before the load, its signing secret handed to its receiver.
 */

export interface WebhookTarget {
  /** How the table names it. */
  name: string;
  failRate: number;
  endpointId: string;
  receiver: WebhookReceiver;
}

async function register(
  client: LoadClient,
  name: string,
  failRate: number,
  random?: () => number,
): Promise<WebhookTarget> {
  const receiver = await startWebhookReceiver({ random });
  try {
    const answer = await client.post(
      "/api/v1/webhook-endpoints",
      JSON.stringify({ url: receiver.url, test: true, description: `npm run load: ${name}` }),
    );
    const endpoint = (() => {
      try {
        return (
          JSON.parse(answer.text) as { data?: { endpoint?: { id?: unknown; secret?: unknown } } }
        ).data?.endpoint;
      } catch {
        return undefined;
      }
    })();
    if (
      answer.status !== "201" ||
      typeof endpoint?.id !== "string" ||
      typeof endpoint.secret !== "string"
    ) {
      throw new Error(
        `registering the ${name} webhook endpoint: ${answer.status} ${answer.text.slice(0, 300)}`,
      );
    }
    receiver.setSecrets([endpoint.secret]);
    receiver.failRate(failRate);
    return { name, failRate, endpointId: endpoint.id, receiver };
  } catch (err) {
    await receiver.close();
    throw err;
  }
}

export async function startWebhookTargets(
  client: LoadClient,
  seed: number,
): Promise<WebhookTarget[]> {
  const healthy = await register(client, "healthy", 0);
  try {
    const failing = await register(
      client,
      `${Math.round(FAIL_RATE * 100)} % failing`,
      FAIL_RATE,
      seededRandom(seed),
    );
    return [healthy, failing];
  } catch (err) {
    await healthy.receiver.close();
    throw err;
  }
}

export async function closeWebhookTargets(targets: WebhookTarget[]): Promise<void> {
  await Promise.all(targets.map((target) => target.receiver.close()));
}
