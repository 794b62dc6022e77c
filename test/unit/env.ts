// Unit tests stub the Kubernetes boundary: controllers run without campaigning for a Lease.
process.env.LEADER_ELECTION = "false";
process.env.DATA_DIR ??= ":memory:";
// Unit tests run on embedded NeDB: a MONGO_URI left by an integration suite in the same jest run must not reach them.
delete process.env.MONGO_URI;
// moleculer-db promisifies NeDB methods that already return promises (DEP0174): noise, not ours to fix.
process.noDeprecation = true;
