import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = fileURLToPath(new URL(".", import.meta.url));

/**
 * The dashboard: `vite build ui` writes dist/ui, which the gateway serves at /ui.
 * Preact through the automatic JSX runtime of Vite's own transformer: no plugin needed.
 */
export default defineConfig({
	root: here,
	base: "/ui/",
	oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
	build: {
		outDir: fileURLToPath(new URL("../dist/ui", import.meta.url)),
		emptyOutDir: true,
		target: "es2022",
		chunkSizeWarningLimit: 300,
	},
	server: {
		// `npx vite ui` for development, against a mesh on :3000.
		proxy: { "/api": "http://127.0.0.1:3000" },
	},
});
