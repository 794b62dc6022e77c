// Runs before any test module is imported: services read some settings at import time.
// Port 0 lets the OS pick a free gateway port, so parallel suites never collide.
process.env.PORT = "0";
process.env.DATA_DIR ??= ":memory:";
// Each test process campaigns for its own controller Lease, so concurrent runs never wait on each other.
process.env.LEADER_LEASE_NAME ??= `berth-test-${process.pid}`;
// moleculer-db promisifies NeDB methods that already return promises (DEP0174): noise, not ours to fix.
process.noDeprecation = true;
