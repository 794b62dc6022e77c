// The fault-injection suite (`npm run test:faults`): its own control plane, nats-server and FerretDB
// (.cluster-faults/, brought up by the global setup), scenarios run one after another. Same swc
// transform as the other tiers (jest.config.js).
const { projects } = require("./jest.config");
const { displayName: _d, testMatch: _t, setupFiles: _s, globalSetup: _g, setupFilesAfterEnv: _a, ...common } = projects[0];

module.exports = {
	...common,
	rootDir: __dirname,
	// Only the code's folders: .cluster*/ hold etcd's *.snap files, which jest would take for snapshots.
	roots: ["<rootDir>/test"],
	displayName: "faults",
	testMatch: ["<rootDir>/test/faults/**/*.test.ts"],
	globalSetup: "<rootDir>/test/faults/global-setup.ts",
	globalTeardown: "<rootDir>/test/faults/global-teardown.ts",
	setupFiles: ["<rootDir>/test/faults/env.ts"],
	testTimeout: 240_000,
};
