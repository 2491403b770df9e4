import { describe, expect, it } from "vitest";
import { URL_REFUSALS } from "../../src/messages.ts";
import { checkEndpointUrl } from "../../src/outbound/url-rules.ts";

/** Issue 15, item 1: the no-SSRF rules themselves, including local development's loopback. */

const live = { livemode: true, allowLoopback: true };
const localTest = { livemode: false, allowLoopback: true };
const deployedTest = { livemode: false, allowLoopback: false };

const reason = (url: string, rules = deployedTest) => {
  const verdict = checkEndpointUrl(url, rules);
  return verdict.ok ? "ok" : verdict.reason;
};

describe("checkEndpointUrl", () => {
  it("takes https URLs on public host names, with paths and queries, and normalises them", () => {
    for (const url of [
      "https://hooks.example.com/checkout-edge",
      "https://api.acme.co.uk/v1/hooks?source=checkout-edge",
      "https://HOOKS.Example.com:443/x",
      "https://xn--bcher-kva.com/x",
    ]) {
      expect(reason(url), url).toBe("ok");
    }
    const verdict = checkEndpointUrl("https://HOOKS.Example.com:443/x", deployedTest);
    expect(verdict.ok && verdict.url.href).toBe("https://hooks.example.com/x");
  });

  it("takes http on a loopback host only in local development and only for test mode", () => {
    for (const url of [
      "http://127.0.0.1:8789/webhooks",
      "http://localhost:3000/x",
      "http://[::1]:9/x",
    ]) {
      expect(reason(url, localTest), url).toBe("ok");
      expect(reason(url, live), url).toBe(URL_REFUSALS.privateHost);
      expect(reason(url, deployedTest), url).toBe(URL_REFUSALS.privateHost);
    }
  });

  it.each([
    ["https://127.1/x", URL_REFUSALS.privateHost],
    ["https://0177.0.0.1/x", URL_REFUSALS.privateHost],
    ["https://192.168.1.10/x", URL_REFUSALS.ipLiteral],
    ["https://100.64.0.1/x", URL_REFUSALS.ipLiteral],
    ["https://0.0.0.0/x", URL_REFUSALS.ipLiteral],
    ["https://[::ffff:127.0.0.1]/x", URL_REFUSALS.ipLiteral],
    ["https://[fe80::1]/x", URL_REFUSALS.ipLiteral],
    ["https://metadata.google.internal/x", URL_REFUSALS.privateHost],
    ["https://host.docker.internal/x", URL_REFUSALS.privateHost],
    ["https://nas.lan/x", URL_REFUSALS.privateHost],
    ["https://x.localtest.me/x", URL_REFUSALS.privateHost],
    ["https://app.lvh.me/x", URL_REFUSALS.privateHost],
    ["https://hooks.example.com.:8080/x", URL_REFUSALS.port],
    ["https://hooks.example.com:80/x", URL_REFUSALS.port],
    ["javascript:alert(1)", URL_REFUSALS.notHttps],
    ["https://hooks.example.com/x#", URL_REFUSALS.fragment],
  ])("refuses %s", (url, expected) => {
    expect(reason(url)).toBe(expected);
    expect(reason(url, live)).toBe(expected);
  });
});
