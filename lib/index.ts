/**
 * What the package exports: the typed client for Berth's REST API.
 *
 * ```ts
 * import { BerthClient } from "berth";
 * const berth = new BerthClient({ host: "127.0.0.1", port: 3000, apiKey: process.env.BERTH_API_KEY });
 * ```
 *
 * And what another team's Moleculer service needs to join a Berth mesh that has MESH_SECRET and NATS credentials:
 *
 * ```ts
 * import { meshMiddleware, transporterFor } from "berth";
 * const broker = new ServiceBroker({ namespace: "berth", transporter: transporterFor(process.env.TRANSPORTER), middlewares: [meshMiddleware(process.env.MESH_SECRET)] });
 * ```
 */
export * from "./client";
export { meshMiddleware } from "./mesh/middleware";
export { transporterFor } from "./mesh/transporter";
