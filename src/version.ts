import pkg from '../package.json' with { type: 'json' }

/** This build's version: package.json's, which is also the OpenAPI document's info.version. */
export const VERSION: string = pkg.version

/** The JavaScript runtime serving: Bun or Node, and its own version (Bun also reports a Node version). */
export const RUNTIME = process.versions.bun
  ? { name: 'bun', version: process.versions.bun }
  : { name: 'node', version: process.versions.node }
