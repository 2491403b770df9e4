import { MESSAGES, URL_REFUSALS } from "../../messages.ts";
import { MAX_BODY_BYTES } from "../../middleware/limit-body.ts";
import { MAX_ENDPOINTS } from "../../outbound/endpoints.ts";
import {
  endpointParamSchema,
  listEndpointsQuerySchema,
  MAX_URL_LENGTH,
  OUTBOUND_EVENT_TYPES,
} from "../../schemas/outbound.ts";
import {
  API_KEY,
  type ErrorExamples,
  failure,
  headers,
  methodNotAllowed,
  parameter,
  ref,
} from "../components.ts";
import {
  CREATE_415,
  ENCRYPTION_INTERNAL,
  FAILED_CREDENTIALS_LIMITED,
  INTERNAL,
  KEY_ONLY_401,
  KEY_ONLY_403,
} from "../error-examples.ts";
import { pathParameters, queryParameters } from "../json-schema.ts";
import type { ExampleObject, OperationObject, ResponseObject } from "../types.ts";
import {
  CREATE_ENDPOINT_EXAMPLES,
  ENDPOINT_CREATED_EXAMPLE,
  ENDPOINT_DELETED_EXAMPLE,
  ENDPOINT_FOUND_EXAMPLE,
  ENDPOINT_LIST_EXAMPLE,
  ENDPOINT_UPDATED_EXAMPLE,
  SECRET_ROTATED_EXAMPLE,
  UPDATE_ENDPOINT_EXAMPLES,
} from "../webhook-examples.ts";

/** The app's webhook endpoints: register, list, read, change, rotate the secret, delete. */

const TAG = "Webhook endpoints";
export const READERS = [API_KEY("read", "write")];
export const WRITERS = [API_KEY("write")];

export const WHO_READS =
  "Read or write API keys, from the app's server: access tokens are 403 (a browser's token may not see where the app's events go), and so is any API key sent with an Origin header.";
export const WHO_WRITES =
  "Write API keys only, from the app's server: read keys and access tokens are 403 (a browser's token may not change where the app's events go), and so is any API key sent with an Origin header.";

const URL_RULES =
  "The URL must be https on a public host name with the standard port, and contain no user name, password or fragment; IP addresses (in any notation), localhost and other loopback, private and special-use names (.local, .internal, .test, .example, .invalid, home.arpa, nip.io and the like) are refused. The rules are checked again before every attempt, and redirects are never followed.";

/** Every refusal of src/outbound/url-rules.ts, by kind. */
export const URL_400: ErrorExamples = {
  notAbsolute: ["Not an absolute URL", URL_REFUSALS.notAbsolute],
  notHttps: ["http, or another scheme", URL_REFUSALS.notHttps],
  credentials: ["A user name or password in it", URL_REFUSALS.credentials],
  fragment: ["A fragment (#…)", URL_REFUSALS.fragment],
  port: ["A port other than 443", URL_REFUSALS.port],
  ipLiteral: ["An IP address", URL_REFUSALS.ipLiteral],
  privateHost: ["localhost, or a private or special-use name", URL_REFUSALS.privateHost],
};

const SIZE_400: [string, string] = ["Body too large", MESSAGES.bodyTooLarge(MAX_BODY_BYTES)];
export const BODY_400: ErrorExamples = {
  json: ["Malformed JSON", MESSAGES.malformedJson],
  size: SIZE_400,
};

const ID_400: ErrorExamples = {
  id: ["Malformed id", "id in the path must be a webhook endpoint id (we_…)"],
};

const WRITE_403 = failure("Credentials that verify but may not do this", {
  readKey: ["A read key", MESSAGES.readKey],
  ...KEY_ONLY_403,
});

const NOT_FOUND = failure("No webhook endpoint with this id for the caller's app", {
  notFound: ["Unknown, or another app's", MESSAGES.endpointNotFound],
});

export const answer = (
  description: string,
  schema: string,
  examples: Record<string, ExampleObject>,
): ResponseObject => ({
  description,
  headers: headers("X-Request-Id"),
  content: { "application/json": { schema: ref("schemas", schema), examples } },
});

export const jsonBody = (
  description: string,
  schema: string,
  examples: Record<string, ExampleObject>,
) => ({
  description: `${description} As JSON (Content-Type: application/json), at most ${MAX_BODY_BYTES} bytes.`,
  required: true,
  content: { "application/json": { schema: ref("schemas", schema), examples } },
});

const idParameters = () => [...pathParameters(endpointParamSchema), parameter("RequestId")];

export const createWebhookEndpoint = (): OperationObject => ({
  operationId: "createWebhookEndpoint",
  tags: [TAG],
  summary: "Register a webhook endpoint",
  description: `Registers a URL of the app's that receives its events of one mode (test: true for test-mode events; live mode needs the app's live mode enabled) as signed POSTs, described under Events to your app (the document's webhooks): the Standard Webhooks headers webhook-id, webhook-timestamp and webhook-signature, one event per request. ${URL_RULES} The answer's data.endpoint.secret (whsec_…) signs them; it is shown only in this answer, so store it. eventTypes limits which events it receives (absent: every type). It receives the events that happen from now on; send it older ones with the redeliver route. At most ${MAX_ENDPOINTS} endpoints per app and mode. ${WHO_WRITES}`,
  security: WRITERS,
  parameters: [parameter("RequestId")],
  requestBody: jsonBody(
    "The endpoint to register.",
    "CreateWebhookEndpointBody",
    CREATE_ENDPOINT_EXAMPLES,
  ),
  responses: {
    201: answer(
      "The endpoint, with its signing secret (shown only now)",
      "WebhookEndpointWithSecretResponse",
      ENDPOINT_CREATED_EXAMPLE,
    ),
    400: failure("A URL the rules refuse, or another invalid field, JSON or size", {
      ...URL_400,
      missing: ["No url", "url must be a string"],
      long: [
        `A URL over ${MAX_URL_LENGTH} characters`,
        `url is too long (at most ${MAX_URL_LENGTH} characters)`,
      ],
      eventTypes: [
        "An empty list of event types",
        "eventTypes must name at least one event type (leave it out for all of them)",
      ],
      twice: ["An event type twice", "eventTypes names an event type twice"],
      badType: [
        "An event type that does not exist",
        `eventTypes must name event types: ${OUTBOUND_EVENT_TYPES.join(", ")}`,
      ],
      unknown: ["An unknown field", "Unknown field in body: secret"],
      ...BODY_400,
    }),
    401: KEY_ONLY_401,
    403: failure("Credentials that verify but may not do this, or live mode not enabled", {
      readKey: ["A read key", MESSAGES.readKey],
      ...KEY_ONLY_403,
      live: ["Live mode not enabled", MESSAGES.liveNotEnabled],
    }),
    405: methodNotAllowed("POST, GET", "PUT"),
    409: failure(`The app has ${MAX_ENDPOINTS} endpoints in this mode already`, {
      limit: ["Too many endpoints", MESSAGES.endpointLimit(MAX_ENDPOINTS, "test")],
    }),
    415: CREATE_415,
    429: FAILED_CREDENTIALS_LIMITED,
    500: ENCRYPTION_INTERNAL,
  },
});

export const listWebhookEndpoints = (): OperationObject => ({
  operationId: "listWebhookEndpoints",
  tags: [TAG],
  summary: "List the webhook endpoints",
  description: `The app's endpoints of one mode, oldest first, each with its state: enabled or disabled (and why: by the app, or for failing every attempt for 5 days), since when its attempts fail, how many failed in a row, its last success, and until when a replaced secret still signs. Never a secret. ${WHO_READS}`,
  security: READERS,
  parameters: [...queryParameters(listEndpointsQuerySchema), parameter("RequestId")],
  responses: {
    200: answer("The endpoints", "WebhookEndpointListResponse", ENDPOINT_LIST_EXAMPLE),
    400: failure("A bad query", {
      test: ["test neither true nor false", "test must be true or false"],
      unknown: ["An unknown query parameter", "Unknown query parameter: mode"],
    }),
    401: KEY_ONLY_401,
    403: failure("Credentials that verify but may not do this", KEY_ONLY_403),
    405: methodNotAllowed("POST, GET", "PUT"),
    429: FAILED_CREDENTIALS_LIMITED,
    500: INTERNAL,
  },
});

export const getWebhookEndpoint = (): OperationObject => ({
  operationId: "getWebhookEndpoint",
  tags: [TAG],
  summary: "Read a webhook endpoint",
  description: `One endpoint of the app, as listed: its URL, mode, event types and state. Another app's endpoint is 404, exactly as an unknown id. Never its secret. ${WHO_READS}`,
  security: READERS,
  parameters: idParameters(),
  responses: {
    200: answer("The endpoint", "WebhookEndpointResponse", ENDPOINT_FOUND_EXAMPLE),
    400: failure("The id is not a webhook endpoint id", ID_400),
    401: KEY_ONLY_401,
    403: failure("Credentials that verify but may not do this", KEY_ONLY_403),
    404: NOT_FOUND,
    405: methodNotAllowed("GET, PATCH, DELETE", "PUT"),
    429: FAILED_CREDENTIALS_LIMITED,
    500: INTERNAL,
  },
});

export const updateWebhookEndpoint = (): OperationObject => ({
  operationId: "updateWebhookEndpoint",
  tags: [TAG],
  summary: "Change a webhook endpoint",
  description: `Changes the fields given and leaves the others. A new url is checked by the same rules as at registration; the mode cannot change (register another endpoint), nor the secret (rotate it). enabled: false stops the sending: its pending deliveries are canceled and events from while it is disabled are not sent (redeliver them). enabled: true sends new events again and forgets its failures, also for an endpoint the service disabled for failing. eventTypes: null takes every type. ${WHO_WRITES}`,
  security: WRITERS,
  parameters: idParameters(),
  requestBody: jsonBody(
    "The fields to change (at least one).",
    "UpdateWebhookEndpointBody",
    UPDATE_ENDPOINT_EXAMPLES,
  ),
  responses: {
    200: answer("The endpoint as it is now", "WebhookEndpointResponse", ENDPOINT_UPDATED_EXAMPLE),
    400: failure("A malformed id, a URL the rules refuse, or another invalid field", {
      ...ID_400,
      ...URL_400,
      nothing: [
        "Nothing to change",
        "Nothing to change: give url, eventTypes, description or enabled",
      ],
      mode: ["The mode (it cannot change)", "Unknown field in body: test"],
      enabled: ["enabled not a boolean", "enabled must be true or false"],
      ...BODY_400,
    }),
    401: KEY_ONLY_401,
    403: WRITE_403,
    404: NOT_FOUND,
    405: methodNotAllowed("GET, PATCH, DELETE", "PUT"),
    415: CREATE_415,
    429: FAILED_CREDENTIALS_LIMITED,
    500: INTERNAL,
  },
});

export const rotateWebhookSecret = (): OperationObject => ({
  operationId: "rotateWebhookSecret",
  tags: [TAG],
  summary: "Rotate a webhook endpoint's signing secret",
  description: `Makes a new signing secret and answers it, once. The replaced secret keeps signing for 24 hours (previousSecretValidUntil): meanwhile every POST carries one v1 signature per secret in webhook-signature, so the receiver can switch to the new secret without missing an event. Rotating again within the day keeps the older replaced secrets signing as well (at most three), so a lost answer never locks the receiver out. Takes no body (one sent is ignored). ${WHO_WRITES}`,
  security: WRITERS,
  parameters: idParameters(),
  responses: {
    200: answer(
      "The endpoint with its new secret (shown only now)",
      "WebhookEndpointWithSecretResponse",
      SECRET_ROTATED_EXAMPLE,
    ),
    400: failure("The id is not a webhook endpoint id, or a body too large", {
      ...ID_400,
      size: SIZE_400,
    }),
    401: KEY_ONLY_401,
    403: WRITE_403,
    404: NOT_FOUND,
    405: methodNotAllowed("POST", "GET"),
    409: failure("Another rotation of this endpoint came first; nothing was changed", {
      rotated: ["Rotated meanwhile", MESSAGES.secretRotatedMeanwhile],
    }),
    429: FAILED_CREDENTIALS_LIMITED,
    500: ENCRYPTION_INTERNAL,
  },
});

export const deleteWebhookEndpoint = (): OperationObject => ({
  operationId: "deleteWebhookEndpoint",
  tags: [TAG],
  summary: "Delete a webhook endpoint",
  description: `Deletes the endpoint with its deliveries and their attempts: nothing more is sent to it, pending deliveries included. The events stay, and can be redelivered to the app's other endpoints. ${WHO_WRITES}`,
  security: WRITERS,
  parameters: idParameters(),
  responses: {
    200: answer("Deleted", "WebhookEndpointDeletedResponse", ENDPOINT_DELETED_EXAMPLE),
    400: failure("The id is not a webhook endpoint id", ID_400),
    401: KEY_ONLY_401,
    403: WRITE_403,
    404: NOT_FOUND,
    405: methodNotAllowed("GET, PATCH, DELETE", "PUT"),
    429: FAILED_CREDENTIALS_LIMITED,
    500: INTERNAL,
  },
});
