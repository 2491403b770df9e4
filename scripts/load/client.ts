import type { LocalStack } from "../lib/local-stack.ts";
import type { Created, Recorder } from "./recorder.ts";
import type { Settings } from "./settings.ts";

/**
 * What every kind of the load shares: the stack it sends to, the recorder it reports to, and
 * sending a request with a time limit.
 */

/** No single request may hold a client longer than this. */
export const REQUEST_TIMEOUT_MS = 30_000;

export interface Answer {
  status: string;
  headers: Headers | null;
  text: string;
  ms: number;
}

export class LoadClient {
  private readonly apiHeaders: Record<string, string>;
  readonly readHeaders: Record<string, string>;
  readonly stack: LocalStack;
  readonly rec: Recorder;
  readonly settings: Settings;
  private readonly abort: AbortSignal;

  constructor(stack: LocalStack, rec: Recorder, settings: Settings, abort: AbortSignal) {
    this.stack = stack;
    this.rec = rec;
    this.settings = settings;
    this.abort = abort;
    this.apiHeaders = {
      "Content-Type": "application/json",
      "X-API-KEY": stack.writeKey,
      "X-API-KEY-TYPE": "write",
      "X-CLIENT-ID": stack.appId,
    };
    this.readHeaders = {
      "X-API-KEY": stack.readKey,
      "X-API-KEY-TYPE": "read",
      "X-CLIENT-ID": stack.appId,
    };
  }

  async send(url: string, init: RequestInit): Promise<Answer> {
    const started = performance.now();
    try {
      const response = await fetch(url, {
        ...init,
        redirect: "manual",
        signal: AbortSignal.any([this.abort, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
      });
      const text = await response.text();
      return {
        status: String(response.status),
        headers: response.headers,
        text,
        ms: performance.now() - started,
      };
    } catch (err) {
      const timeout = err instanceof DOMException && err.name === "TimeoutError";
      return {
        status: timeout ? "timeout" : "ERR",
        headers: null,
        text: String(err),
        ms: performance.now() - started,
      };
    }
  }

  /** 200, and with limits kept also 429, for the kinds that go through the create route. */
  createStatuses(...statuses: string[]): string[] {
    return this.settings.rateLimits ? [...statuses, "429"] : statuses;
  }

  pick(filter?: (c: Created) => boolean): Created | undefined {
    const { created } = this.rec;
    if (created.length === 0) return undefined;
    for (let attempt = 0; attempt < 8; attempt++) {
      const candidate = created[Math.floor(Math.random() * created.length)];
      if (candidate && (!filter || filter(candidate))) return candidate;
    }
    return undefined;
  }

  post(pathName: string, body: string): Promise<Answer> {
    return this.send(`${this.stack.workerOrigin}${pathName}`, {
      method: "POST",
      headers: this.apiHeaders,
      body,
    });
  }
}
