/** Connection-pool figures, kept from the driver's monitoring events (db/mongo.ts) for the metrics. */
export type PoolStats = { open: number; checkedOut: number; waiting: number; checkoutFailures: number }
