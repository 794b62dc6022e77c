// Unit tests stub the Kubernetes boundary: controllers run without campaigning for a Lease.
process.env.LEADER_ELECTION = "false";
process.env.DATA_DIR ??= ":memory:";
// moleculer-db promisifies NeDB methods that already return promises (DEP0174): noise, not ours to fix.
process.noDeprecation = true;
