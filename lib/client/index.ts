export { BerthClient, baseUrlOf, poll, queryString, rolloutVerdict, jobVerdict, applicationVerdict, type BerthClientOptions, type RequestOptions, type WaitOptions } from "./client";
export { BerthApiError, BerthConnectionError, BerthTimeoutError, BerthWaitError, isRetryable } from "./errors";
export { OPERATIONS, buildRequest, pathParams, type HttpMethod, type Operation, type OperationName } from "./routes";
export { parseEventStream, type ServerSentEvent } from "./sse";
export type * from "./types";
