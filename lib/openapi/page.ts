/**
 * The API reference at /api/docs: Swagger UI (swagger-ui-dist, from npm) over /api/openapi.json,
 * served by the gateway itself. Every file the page loads is on this origin (no CDN), and the
 * Content-Security-Policy says so: the page works offline and leaks nothing to third parties.
 */
import * as fs from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import * as path from "node:path";

export const DOCS_PATH = "/api/docs";

/** The files of swagger-ui-dist the page uses, and their types: nothing else of the package is served. */
const ASSETS: Record<string, string> = {
	"swagger-ui.css": "text/css; charset=utf-8",
	"swagger-ui-bundle.js": "text/javascript; charset=utf-8",
	"favicon-32x32.png": "image/png",
	"favicon-16x16.png": "image/png",
};

/** Swagger UI's start, as a file: the policy allows no inline script. `validatorUrl: null` keeps it from calling swagger.io. */
const INIT_JS = `window.addEventListener("load", function () {
	window.ui = SwaggerUIBundle({
		url: "/api/openapi.json",
		dom_id: "#swagger-ui",
		deepLinking: true,
		validatorUrl: null,
		presets: [SwaggerUIBundle.presets.apis],
		layout: "BaseLayout",
	});
});
`;

const HTML = `<!doctype html>
<html lang="en">
<head>
	<meta charset="utf-8">
	<meta name="viewport" content="width=device-width, initial-scale=1">
	<title>Berth API reference</title>
	<link rel="stylesheet" href="${DOCS_PATH}/swagger-ui.css">
	<link rel="icon" type="image/png" href="${DOCS_PATH}/favicon-32x32.png" sizes="32x32">
</head>
<body>
	<div id="swagger-ui"></div>
	<script src="${DOCS_PATH}/swagger-ui-bundle.js"></script>
	<script src="${DOCS_PATH}/init.js"></script>
</body>
</html>
`;

/** Swagger UI styles itself inline and draws some icons as data: URLs; everything else is this origin's. */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** Where swagger-ui-dist is installed, or undefined when it is not. */
export function swaggerUiDir(): string | undefined {
	try {
		return path.dirname(require.resolve("swagger-ui-dist/package.json"));
	} catch {
		return undefined;
	}
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, cache: string): void {
	res.writeHead(status, { "Content-Type": type, "Cache-Control": cache, "Content-Length": Buffer.byteLength(body) });
	res.end(body);
}

/** A connect-style middleware for the gateway's docs route: the page, its start script and Swagger UI's files. */
export function serveDocs() {
	const files = new Map<string, Buffer>();
	return (req: IncomingMessage & { originalUrl?: string }, res: ServerResponse, next: (err?: unknown) => void): void => {
		const url = (req.originalUrl ?? req.url ?? "").split("?")[0];
		if (url !== DOCS_PATH && !url.startsWith(`${DOCS_PATH}/`)) return next();
		if (req.method !== "GET" && req.method !== "HEAD") return next();
		res.setHeader("X-Content-Type-Options", "nosniff");
		res.setHeader("X-Frame-Options", "DENY");
		res.setHeader("Referrer-Policy", "no-referrer");
		res.setHeader("Content-Security-Policy", CSP);
		const file = url.slice(DOCS_PATH.length + 1);
		if (file === "" || file === "index.html") return send(res, 200, "text/html; charset=utf-8", HTML, "no-cache");
		if (file === "init.js") return send(res, 200, "text/javascript; charset=utf-8", INIT_JS, "no-cache");
		const type = ASSETS[file];
		if (!type) return next();
		const dir = swaggerUiDir();
		if (!dir) return send(res, 503, "text/plain; charset=utf-8", "The API reference needs swagger-ui-dist: run `npm ci`.\n", "no-store");
		let body = files.get(file);
		if (!body) files.set(file, (body = fs.readFileSync(path.join(dir, file))));
		send(res, 200, type, body, "public, max-age=86400");
	};
}
