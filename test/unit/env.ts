// Unit tests stub the Kubernetes boundary: controllers run without campaigning for a Lease.
process.env.LEADER_ELECTION = "false";
process.env.DATA_DIR ??= ":memory:";
