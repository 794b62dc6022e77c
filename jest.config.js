// Tests run through swc: fast, and it also turns the ESM-only @kubernetes/client-node (and the
// ESM packages it imports) into CommonJS for jest's module system. Type checking is tsc's job.
const esmPackages = ["@kubernetes/client-node", "openid-client", "oauth4webapi", "jose", "socks-proxy-agent", "agent-base"];
const transform = {
	"^.+\\.(t|j|mj)s$": ["@swc/jest", { jsc: { target: "es2023", parser: { syntax: "typescript" } }, module: { type: "commonjs" } }],
};
const common = {
	testEnvironment: "node",
	transform,
	transformIgnorePatterns: [`/node_modules/(?!(${esmPackages.join("|")})/)`],
	moduleFileExtensions: ["ts", "js", "mjs", "json"],
	// Only the code's own folders: .cluster/ holds etcd's *.snap files, which jest would take for snapshots.
	roots: ["<rootDir>/test", "<rootDir>/lib", "<rootDir>/services", "<rootDir>/mixins", "<rootDir>/scripts"],
};
module.exports = {
	projects: [
		{ ...common, displayName: "unit", testMatch: ["<rootDir>/test/unit/**/*.test.ts"], setupFiles: ["<rootDir>/test/unit/env.ts"] },
		{
			...common,
			displayName: "integration",
			testMatch: ["<rootDir>/test/integration/**/*.test.ts"],
			globalSetup: "<rootDir>/test/integration/global-setup.ts",
			setupFiles: ["<rootDir>/test/integration/env.ts"],
			setupFilesAfterEnv: ["<rootDir>/test/integration/setup.ts"],
		},
		{
			// The dashboard in Debian's Chromium against a mesh on the local control plane: the integration
			// tier's setup, plus Chromium and the dashboard's build (test/browser/global-setup.ts).
			...common,
			displayName: "browser",
			testMatch: ["<rootDir>/test/browser/**/*.test.ts"],
			globalSetup: "<rootDir>/test/browser/global-setup.ts",
			setupFiles: ["<rootDir>/test/integration/env.ts"],
			setupFilesAfterEnv: ["<rootDir>/test/integration/setup.ts"],
		},
	],
};
