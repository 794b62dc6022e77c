/**
 * Benchmark 2's baseline: a bare node:http server answering the same JSON as Berth from memory.
 * `node bare-server.js pages.json` reads `{"/path?query": <body>}`, keeps the bodies as objects and
 * serializes one per request (as any JSON API does), listens on a free port of 127.0.0.1 and prints
 * `PORT <n>`. It runs in its own process, like the mesh it is compared with.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";

const file = process.argv[2];
if (!file) {
	console.error("usage: bare-server.js <pages.json>");
	process.exit(2);
}
const pages = new Map(Object.entries(JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>));

const server = http.createServer((req, res) => {
	const body = pages.get(req.url ?? "");
	if (body === undefined) {
		res.writeHead(404, { "content-type": "application/json" });
		res.end('{"code":404}');
		return;
	}
	const text = JSON.stringify(body);
	res.writeHead(200, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text) });
	res.end(text);
});
server.keepAliveTimeout = 65_000;
server.listen(0, "127.0.0.1", () => {
	process.stdout.write(`PORT ${(server.address() as AddressInfo).port}\n`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
