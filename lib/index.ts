/**
 * What the package exports: the typed client for Berth's REST API.
 *
 * ```ts
 * import { BerthClient } from "berth";
 * const berth = new BerthClient({ host: "127.0.0.1", port: 3000, apiKey: process.env.BERTH_API_KEY });
 * ```
 */
export * from "./client";
