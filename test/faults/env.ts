// Runs before any test module: nothing in the fault suite may reach the shared instance by accident.
import { faultsCluster } from "./harness";

process.env.KUBECONFIG = `${faultsCluster.dir}/kubeconfig`;
delete process.env.NATS_URL;
delete process.env.MONGO_URI;
process.env.DATA_DIR = ":memory:";
