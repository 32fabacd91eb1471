/**
 * What the release stage of the Dockerfile sets besides NODE_ENV (tests/dockerfile.test.ts checks
 * that the two agree): the service contenders of the bench run the container's command with it,
 * and every other Bun contender with it too, so the figures compare code, not runtime settings.
 * A module of its own, with no imports, so the test reads it without loading the bench.
 */
export const CONTAINER_ENV: Record<string, string> = { BUN_JSC_forceRAMSize: '268435456' }
