import * as path from "node:path";
import { DEFAULT_RBAC_ROLE, parseServiceAccount } from "./manifests/rbac";
import { POD_SECURITY_LEVELS, type PodSecurityLevel, type TenantPolicy } from "./manifests/security";

/** Every setting Berth reads from the environment, in one typed place (the README lists them). */
export interface BerthConfig {
	/** Unset: in-process. `nats://host:port`: NATS, with `user:password@` or `token@` when it asks for credentials. */
	transporter?: string;
	/** MESH_SECRET: when set, every packet between nodes is sealed with it (lib/mesh); every node needs the same one. */
	meshSecret?: string;
	/** Service names this node runs; empty means all. */
	services: string[];
	port: number;
	/** HOST: the address the gateway (and the metrics endpoint) listen on. */
	host: string;
	/** METRICS_PORT: where Prometheus metrics are served at /metrics; unset: no metrics. */
	metricsPort?: number;
	dataDir: string;
	mongoUri?: string;
	kubeconfig?: string;
	logLevel: string;
	/** LOG_FORMAT: `text` (one readable line) or `json` (one JSON object per line). */
	logFormat: "text" | "json";
	nodeID?: string;
	/** Domain for default ingress hosts: `<name>.<namespace>.<baseDomain>`. */
	baseDomain: string;
	/** INGRESS_CLASS, TLS_ISSUER, INGRESS_ANNOTATIONS_ALLOWED: how deployments' Ingresses are made (lib/manifests/ingress.ts). */
	ingress: IngressConfig;
	/** Seconds between full resyncs of the reconcilers. */
	resyncSeconds: number;
	/** Entities each reconciler works on at once (the work mostly waits on the apiserver). */
	reconcileConcurrency: number;
	/**
	 * The apiserver's --service-node-port-range: a fixed node port outside it is refused before
	 * anything is applied (the apiserver's dry run does not check it).
	 */
	nodePortRange: [number, number];
	/**
	 * How long a namespace's admission (its quota check and the store of what it admits) may be held
	 * before another node takes it over: a crashed holder blocks the namespace no longer than this.
	 */
	quotaLockSeconds: number;
	/** Whether `npm start` may start the local control plane when no cluster is configured. */
	autoCluster: boolean;
	/**
	 * COMPAT_ANONYMOUS_USER / COMPAT_ANONYMOUS_NAMESPACES: who a keyless call to the seeds' root
	 * routes acts as (role `user`), and the namespaces it is confined to. Unset: those routes need a key.
	 */
	compatAnonymous?: { userID: string; namespaces?: string[] };
	/** The namespaces Berth keeps for itself (JOBS_COMPAT_NAMESPACE, APPS_NAMESPACE). */
	ownNamespaces: { jobsCompat: string; apps: string };
	/** RESERVED_NAMESPACES: further names no tenant may create (beside Kubernetes' and Berth's own). */
	reservedNamespaces: string[];
	/**
	 * POD_SECURITY_LEVEL, INGRESS_NAMESPACE, BERTH_NAMESPACE, EGRESS_EXCEPT_CIDRS, RBAC_ROLE,
	 * RBAC_SERVICE_ACCOUNT: the Pod Security level, the default NetworkPolicy and Berth's writer
	 * RoleBinding of every namespace Berth makes (lib/manifests/security.ts, lib/manifests/rbac.ts).
	 */
	tenantPolicy: TenantPolicy;
	/** STREAM_RECHECK_SECONDS: how often status streams and followed logs re-check the caller's access. */
	streamRecheckSeconds: number;
	/** LOG_LIMIT_BYTES: the most bytes of pod logs one answer holds (each pod's share of it is its read's `limitBytes`). */
	logLimitBytes: number;
	/** MAX_STREAMS_PER_KEY: status streams and followed logs one API key may keep open at once on a node. */
	maxStreamsPerKey: number;
	/** REVISIONS_KEPT: how many revisions of each deployment are kept (lib/revisions); older ones are dropped. */
	revisionsKept: number;
	/** AUDIT_RETENTION_DAYS: audit records older than this are pruned (by the leader, hourly). */
	auditRetentionDays: number;
	/** Seconds between the leader's orphan sweeps (lib/orphans.ts); 0: no sweep. */
	orphanSweepSeconds: number;
	/** An object is swept once two sweeps at least this many seconds apart found it without its entity. */
	orphanGraceSeconds: number;
	/**
	 * SECRETS_KEY: the 32-byte key (base64 or hex) secret values are sealed under in the database
	 * (lib/secrets). Unset: a key made on first start in DATA_DIR/secrets.key. Every node that shares
	 * a database needs the same one.
	 */
	secretsKey?: string;
	/** SECRETS_KEY_PREVIOUS: keys (comma-separated) values may still be sealed under; the start re-seals them under SECRETS_KEY. */
	secretsKeyPrevious?: string;
	/**
	 * Test-only (BERTH_TEST_APPLY_DELAY_MS): milliseconds a deployment's pass waits before it applies,
	 * so the fault suite can race a delete against an apply. Never set it in production.
	 */
	testApplyDelayMs: number;
	/**
	 * Test-only (BERTH_TEST_CLOCK_SKEW_MS, may be negative): how far the leader elector's clock is off
	 * (lib/leader.ts), so the fault suite can run one node with a wrong clock. Never set it in production.
	 */
	testClockSkewMs: number;
}

function int(value: string | undefined, fallback: number): number {
	const n = value === undefined || value === "" ? NaN : Number(value);
	return Number.isInteger(n) && n > 0 ? n : fallback;
}

/** A whole number of at least 0 (0 turns the setting off). */
function count(value: string | undefined, fallback: number): number {
	const n = value === undefined || value === "" ? NaN : Number(value);
	return Number.isInteger(n) && n >= 0 ? n : fallback;
}

/** A TCP port; 0 is valid and lets the OS pick a free one (what the tests use). */
function port(value: string | undefined, fallback: number): number {
	const n = value === undefined || value === "" ? NaN : Number(value);
	return Number.isInteger(n) && n >= 0 && n <= 65535 ? n : fallback;
}

/** "30000-32767" → [30000, 32767]; anything else → the fallback. */
function range(value: string | undefined, fallback: [number, number]): [number, number] {
	const m = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(value ?? "");
	const [lo, hi] = m ? [Number(m[1]), Number(m[2])] : [NaN, NaN];
	return lo >= 1 && hi <= 65535 && lo <= hi ? [lo, hi] : fallback;
}

function list(value: string | undefined): string[] {
	return (value ?? "").split(",").map(s => s.trim()).filter(s => s.length > 0 && s !== "all" && s !== "*");
}

/** Private, shared, link-local and unique-local ranges: where pods live in any usual cluster, and cloud metadata servers. */
export const DEFAULT_EGRESS_EXCEPT_CIDRS = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16", "fc00::/7", "fe80::/10"];

/** A misspelt level must not quietly become another: the node refuses to start. */
function podSecurityLevel(value: string | undefined): PodSecurityLevel {
	const level = value?.trim() || "baseline";
	if (!(POD_SECURITY_LEVELS as readonly string[]).includes(level)) throw new Error(`POD_SECURITY_LEVEL must be one of ${POD_SECURITY_LEVELS.join(", ")} (got "${value}")`);
	return level as PodSecurityLevel;
}

function tenantPolicy(env: NodeJS.ProcessEnv): TenantPolicy {
	const except = env.EGRESS_EXCEPT_CIDRS === undefined ? DEFAULT_EGRESS_EXCEPT_CIDRS : list(env.EGRESS_EXCEPT_CIDRS);
	return {
		podSecurityLevel: podSecurityLevel(env.POD_SECURITY_LEVEL),
		ingressNamespace: env.INGRESS_NAMESPACE?.trim() || "ingress-nginx",
		berthNamespace: env.BERTH_NAMESPACE?.trim() || "berth-system",
		egressExceptCidrs: except,
		writer: { role: env.RBAC_ROLE?.trim() || DEFAULT_RBAC_ROLE, serviceAccount: parseServiceAccount(env.RBAC_SERVICE_ACCOUNT) },
	};
}

/** Owners Berth itself uses: Berth's own namespaces (`system`) and keyless binder launches (`anonymous`). */
export const RESERVED_USER_IDS = ["system", "anonymous"];

/** Unset, or a reserved user ID (which would hand Berth's own things to anyone): keys stay required. */
function compatAnonymous(env: NodeJS.ProcessEnv): BerthConfig["compatAnonymous"] {
	const userID = env.COMPAT_ANONYMOUS_USER?.trim();
	if (!userID || RESERVED_USER_IDS.includes(userID)) return undefined;
	const namespaces = list(env.COMPAT_ANONYMOUS_NAMESPACES);
	return { userID, ...(namespaces.length ? { namespaces } : {}) };
}

export interface IngressConfig {
	/** `spec.ingressClassName` of every deployment's Ingress; unset: the cluster's default class. */
	ingressClass?: string;
	/** The cert-manager ClusterIssuer of `tls: true`; unset: `tls: true` is refused. */
	tlsIssuer?: string;
	/** The annotation keys a deployment's `annotations` may set on its Ingress; empty: none. */
	annotationsAllowed: string[];
}

/** Read at each use (a pass, a check): cheap, and what an operator set is what applies. */
export function ingressConfig(env: NodeJS.ProcessEnv = process.env): IngressConfig {
	return {
		ingressClass: env.INGRESS_CLASS?.trim() || undefined,
		tlsIssuer: env.TLS_ISSUER?.trim() || undefined,
		annotationsAllowed: list(env.INGRESS_ANNOTATIONS_ALLOWED),
	};
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): BerthConfig {
	return {
		transporter: env.TRANSPORTER || undefined,
		meshSecret: env.MESH_SECRET || undefined,
		services: list(env.SERVICES),
		port: port(env.PORT, 3000),
		host: env.HOST || "127.0.0.1",
		metricsPort: env.METRICS_PORT ? port(env.METRICS_PORT, 3030) : undefined,
		dataDir: path.resolve(env.DATA_DIR || "./data"),
		mongoUri: env.MONGO_URI || undefined,
		kubeconfig: env.KUBECONFIG || undefined,
		logLevel: env.LOG_LEVEL || "info",
		logFormat: env.LOG_FORMAT === "json" ? "json" : "text",
		nodeID: env.NODE_ID || undefined,
		baseDomain: env.BASE_DOMAIN || "berth.local",
		ingress: ingressConfig(env),
		resyncSeconds: int(env.RESYNC_SECONDS, 60),
		reconcileConcurrency: int(env.RECONCILE_CONCURRENCY, 16),
		nodePortRange: range(env.NODE_PORT_RANGE, [30000, 32767]),
		quotaLockSeconds: int(env.QUOTA_LOCK_SECONDS, 10),
		autoCluster: env.BERTH_AUTO_CLUSTER !== "false",
		compatAnonymous: compatAnonymous(env),
		ownNamespaces: { jobsCompat: env.JOBS_COMPAT_NAMESPACE || "orchestrator", apps: env.APPS_NAMESPACE || "berth-apps" },
		reservedNamespaces: list(env.RESERVED_NAMESPACES),
		tenantPolicy: tenantPolicy(env),
		streamRecheckSeconds: int(env.STREAM_RECHECK_SECONDS, 5),
		logLimitBytes: int(env.LOG_LIMIT_BYTES, 10 * 1024 * 1024),
		maxStreamsPerKey: int(env.MAX_STREAMS_PER_KEY, 10),
		revisionsKept: int(env.REVISIONS_KEPT, 10),
		auditRetentionDays: int(env.AUDIT_RETENTION_DAYS, 90),
		orphanSweepSeconds: count(env.ORPHAN_SWEEP_SECONDS, 300),
		orphanGraceSeconds: count(env.ORPHAN_GRACE_SECONDS, 120),
		secretsKey: env.SECRETS_KEY?.trim() || undefined,
		secretsKeyPrevious: env.SECRETS_KEY_PREVIOUS?.trim() || undefined,
		testApplyDelayMs: count(env.BERTH_TEST_APPLY_DELAY_MS, 0),
		testClockSkewMs: Number.isFinite(Number(env.BERTH_TEST_CLOCK_SKEW_MS)) ? Number(env.BERTH_TEST_CLOCK_SKEW_MS) : 0,
	};
}
