/**
 * mongoose and moleculer-db's mongoose adapter, loaded on first use: only a node with MONGO_URI
 * needs them, and on NeDB they would cost about 17 MB of memory for nothing (docs/BENCHMARKS.md).
 */
import type MongooseAdapterClass from "moleculer-db-adapter-mongoose";

export type Mongoose = typeof import("mongoose");

export function loadMongoose(): Mongoose {
	return require("mongoose") as Mongoose;
}

export function loadMongooseAdapter(): typeof MongooseAdapterClass {
	return require("moleculer-db-adapter-mongoose") as typeof MongooseAdapterClass;
}
