/**
 * mongoose and moleculer-db's mongoose adapter, loaded on first use: only a node with MONGO_URI
 * needs them, and on NeDB they would cost about 17 MB of memory for nothing (docs/BENCHMARKS.md).
 */
import type MongooseAdapterClass from "moleculer-db-adapter-mongoose";

export type Mongoose = typeof import("mongoose");

export function loadMongoose(): Mongoose {
	const mongoose = require("mongoose") as Mongoose;
	// Each DB-backed service's adapter listens on the shared default connection; a node runs more than the default 10.
	mongoose.connection.setMaxListeners(0);
	return mongoose;
}

export function loadMongooseAdapter(): typeof MongooseAdapterClass {
	return require("moleculer-db-adapter-mongoose") as typeof MongooseAdapterClass;
}
