import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { createHash } from 'node:crypto'
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MongoClient } from 'mongodb'
import {
  clientDir,
  consumerDir,
  createConsumer,
  misuseErrors,
  packClient,
  root,
  run,
  SETUPS,
  type Setup,
  tsc,
} from '../scripts/client/consumers'
import { startServer } from './helpers/process'

/**
 * The typed client as other services get it: the package in client/ packed (its prepack builds it),
 * installed from the tarball into consumer projects of each standard TypeScript setup
 * (tests/consumer/setups), type-checked there, and run against the real service on Bun and Node.
 */
const work = mkdtempSync(join(tmpdir(), 'users-service-client-'))
const project = (setup: Setup) => join(work, setup)

const clientPkg = JSON.parse(readFileSync(join(clientDir, 'package.json'), 'utf8'))
const document = JSON.parse(readFileSync(join(root, 'openapi.json'), 'utf8'))

/** Every operation of the document as `METHOD /path`, in the client's path syntax (`:id`). */
const documentOperations: string[] = Object.entries(document.paths as Record<string, object>).flatMap(([path, item]) =>
  Object.keys(item).map((method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
)
const v1Operations = documentOperations.filter((operation) => operation.split(' ')[1]?.startsWith('/v1/'))

/** Each project compiled once (`tsc -p .`): its emitted JavaScript is what Node runs. */
const compiled = new Map<Setup, ReturnType<typeof tsc>>()
const compile = (setup: Setup) => {
  if (!compiled.has(setup)) compiled.set(setup, tsc(project(setup)))
  return compiled.get(setup)!
}

// The real service, with auth on: the consumer must send its token.
const apiKey = `usk_consumer_${crypto.randomUUID()}`
const dbName = `test_client_${crypto.randomUUID().slice(0, 8)}`
let server: Awaited<ReturnType<typeof startServer>> | undefined

beforeAll(async () => {
  const started = startServer(['bun', 'src/index.ts'], {
    MONGODB_URI: globalThis.testMongoUri,
    MONGODB_DB: dbName,
    AUTH_API_KEYS: JSON.stringify([
      {
        name: 'consumer',
        sha256: createHash('sha256').update(apiKey).digest('hex'),
        // users:admin for the lifecycle's routes (restore, erase, the reads of deleted users);
        // events:read for the change feed; webhooks:manage for the webhook routes.
        scopes: ['users:read', 'users:write', 'users:admin', 'events:read', 'webhooks:manage'],
      },
    ]),
  })
  // From a clean state: packing must build the package by itself (prepack).
  const tarball = await packClient(work)
  await Promise.all(SETUPS.map((setup) => createConsumer(setup, project(setup), tarball)))
  server = await started
}, 180_000)

afterAll(async () => {
  server?.proc.kill('SIGKILL')
  const mongo = new MongoClient(globalThis.testMongoUri)
  await mongo.db(dbName).dropDatabase()
  await mongo.close()
  rmSync(work, { recursive: true, force: true })
})

/** The installed package's files, path → size in bytes. */
function installedFiles(): Map<string, number> {
  const dir = installedDir()
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' })
    // .bun-tag is Bun's install marker, not part of the package.
    .filter((name) => name !== '.bun-tag' && statSync(join(dir, name)).isFile())
  return new Map(files.map((name) => [name, statSync(join(dir, name)).size]))
}

const installedDir = () => join(project('nodenext'), 'node_modules/@users-service/client')

/** The installed declaration files (.d.ts, .d.cts), path → text. */
function declarationFiles(): Map<string, string> {
  const names = [...installedFiles().keys()].filter((name) => /\.d\.c?ts$/.test(name))
  return new Map(names.map((name) => [name, readFileSync(join(installedDir(), name), 'utf8')]))
}

/** What a declaration file imports or re-exports from. */
const importsOf = (source: string) =>
  [...source.matchAll(/\bfrom\s+['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]/g)].map((m) => m[1] ?? m[2] ?? '')

const kb = (bytes: number) => Math.round(bytes / 102.4) / 10

describe('the @users-service/client package', () => {
  it('is publishable: not private, with the metadata a registry needs', () => {
    expect(clientPkg.private).toBeUndefined()
    // A copy: Bun 1.4's toMatchObject writes its asymmetric matchers into the object it is given.
    expect(structuredClone(clientPkg)).toMatchObject({
      name: '@users-service/client',
      version: expect.stringMatching(/^\d+\.\d+\.\d+$/),
      license: expect.any(String),
      repository: { type: 'git', url: expect.any(String), directory: 'client' },
      files: ['dist'],
      sideEffects: false,
    })
  })

  it('exports types first, for import and for require', () => {
    const exports = clientPkg.exports['.']
    expect(Object.keys(exports)).toEqual(['import', 'require'])
    expect(exports.import).toEqual({ types: './dist/index.d.ts', default: './dist/index.js' })
    expect(exports.require).toEqual({ types: './dist/index.d.cts', default: './dist/index.cjs' })
    expect(Object.keys(exports.import)[0]).toBe('types')
    expect(Object.keys(exports.require)[0]).toBe('types')
  })

  it('needs only hono, as a peer dependency with a stated range, and has no install script', () => {
    expect(clientPkg.dependencies).toBeUndefined()
    expect(clientPkg.optionalDependencies).toBeUndefined()
    expect(clientPkg.peerDependencies).toEqual({ hono: expect.stringMatching(/^\^4\.\d+\.\d+$/) })
    for (const script of ['preinstall', 'install', 'postinstall', 'prepare']) expect(clientPkg.scripts[script]).toBeUndefined()
    expect(clientPkg.scripts.prepack).toBe('bun build.ts')
  })

  it('packs the files it built (prepack)', () => {
    expect([...installedFiles().keys()].sort()).toEqual([
      'README.md',
      'dist/index.cjs',
      'dist/index.d.cts',
      'dist/index.d.ts',
      'dist/index.js',
      'dist/types.d.cts',
      'package.json',
    ])
  })

  it('is under 100 KB installed, its declarations under 150 KB (issue 12)', () => {
    const files = installedFiles()
    const sum = (names: string[]) => names.reduce((total, name) => total + (files.get(name) ?? 0), 0)
    // In KB, so that a failure says by how much.
    expect(kb(sum([...files.keys()]))).toBeLessThan(100)
    expect(kb(sum([...declarationFiles().keys()]))).toBeLessThan(150)
  })

  it('ships the route types once: both entries re-export dist/types.d.cts, which no other file repeats', () => {
    const files = declarationFiles()
    for (const entry of ['dist/index.d.ts', 'dist/index.d.cts'])
      expect({ entry, reExports: files.get(entry)?.includes("export type * from './types.cjs'") }).toEqual({
        entry,
        reExports: true,
      })
    const routeShape = '":id": Route<"/v1/users/:id", {'
    expect([...files].filter(([, source]) => source.includes(routeShape)).map(([name]) => name)).toEqual(['dist/types.d.cts'])
  })

  it("declares route shapes only: nothing of the server, and no import but hono and the package's own files", () => {
    const files = declarationFiles()
    const packed = [...installedFiles().keys()]
    // A relative import must be a declaration file of the package (./types.cjs is dist/types.d.cts).
    const own = (specifier: string) =>
      specifier.startsWith('./') && packed.includes(join('dist', specifier.replace(/\.(c?)js$/, '.d.$1ts')))
    const packages = new Set<string>()
    for (const [file, text] of files) {
      const foreign = importsOf(text).filter((specifier) => !own(specifier))
      for (const specifier of foreign) packages.add(specifier)
      expect({ file, foreign: foreign.filter((specifier) => !['hono', 'hono/client'].includes(specifier)) }).toEqual({
        file,
        foreign: [],
      })
    }
    expect([...packages].sort()).toEqual(['hono', 'hono/client'])
    const source = [...files.values()].join('\n')
    for (const serverName of [
      'createApp',
      'AppDeps',
      'Config',
      'Logger',
      'UsersRepository',
      'mongodb',
      'pino',
      'bun-types',
      'zod',
    ])
      expect({ serverName, found: source.includes(serverName) }).toEqual({ serverName, found: false })
    // The nouns consumers already use, under their names.
    for (const name of ['User', 'UserList', 'Problem', 'CreateUserBody', 'UpdateUserBody', 'ListUsersQuery'])
      expect(source).toContain(`export interface ${name} `)
    for (const name of ['ProblemCode', 'UsersClient', 'UsersClientOptions']) expect(source).toContain(`export type ${name} `)
    expect(source).toContain('export declare function createUsersClient(')
    // The client object is written out (a tree of Route<path>), not left to hc<AppType> in the consumer.
    expect(source).toContain('":id": Route<"/v1/users/:id", {')
    expect(source).toContain('restore: Route<"/v1/users/:id/restore">')
    expect(source).not.toContain('typeof hc<')
  })

  it('installs alone: a consumer gets the client and hono, nothing else', () => {
    const modules = join(project('nodenext'), 'node_modules')
    const installed = readdirSync(modules)
      .filter((name) => !name.startsWith('.'))
      .flatMap((name) => (name.startsWith('@') ? readdirSync(join(modules, name)).map((inner) => `${name}/${inner}`) : [name]))
    expect(installed.sort()).toEqual(['@users-service/client', 'hono'])
  })

  it("is versioned with the API: the client's version is openapi.json's info.version", () => {
    expect(clientPkg.version).toBe(document.info.version)
  })

  it('reaches every /v1 operation of openapi.json, and no operation the document lacks', async () => {
    expect(v1Operations.length).toBeGreaterThanOrEqual(8)
    // Compiled against the installed declarations: the client's routes, as a union of `METHOD /path`.
    const dir = join(work, 'routes')
    mkdirSync(join(dir, 'src'), { recursive: true })
    symlinkSync(join(project('bundler'), 'node_modules'), join(dir, 'node_modules'))
    cpSync(join(consumerDir, 'setups/bundler/tsconfig.json'), join(dir, 'tsconfig.json'))
    const union = (operations: string[]) => operations.map((operation) => JSON.stringify(operation)).join(' | ')
    writeFileSync(
      join(dir, 'src/routes.ts'),
      `import type { UsersApiSchema } from '@users-service/client'
type ClientOperations = { [P in keyof UsersApiSchema & string]: { [M in keyof UsersApiSchema[P] & string]: \`\${Uppercase<M extends \`$\${infer N}\` ? N : M>} \${P}\` }[keyof UsersApiSchema[P] & string] }[keyof UsersApiSchema & string]
type V1InDocument = ${union(v1Operations)}
type InDocument = ${union(documentOperations)}
/** A /v1 operation of the document that the client cannot call. */
export const unreachable: [Exclude<V1InDocument, ClientOperations>] extends [never] ? 'none' : Exclude<V1InDocument, ClientOperations> = 'none'
/** An operation of the client that the document does not have. */
export const undocumented: [Exclude<ClientOperations, InDocument>] extends [never] ? 'none' : Exclude<ClientOperations, InDocument> = 'none'
`,
    )
    expect(await tsc(dir)).toEqual({ code: 0, out: '', err: '' })

    // And usage.ts, which every setup compiles and runs, calls each of them.
    const usage = readFileSync(join(consumerDir, 'src/usage.ts'), 'utf8')
    const call = (operation: string) => {
      const [method = '', path = ''] = operation.split(' ')
      const segments = path.split('/').filter(Boolean)
      const chain = segments.map((s) => (/^[A-Za-z_]\w*$/.test(s) ? `.${s}` : `['${s}']`)).join('')
      return `client${chain}.$${method.toLowerCase()}(`
    }
    for (const operation of v1Operations)
      expect({ operation, called: usage.includes(call(operation)) }).toEqual({ operation, called: true })
  })
})

describe('README.md', () => {
  it('has TypeScript examples (the feed loop, the client, the receiver) that compile against the installed package', async () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8')
    const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)\n```/g)].map((m) => m[1] ?? '')
    expect(blocks.some((code) => code.includes('v1.events.$get'))).toBe(true)
    expect(blocks.some((code) => code.includes("users[':id'].$get"))).toBe(true)
    expect(blocks.some((code) => code.includes('verifyWebhook'))).toBe(true)
    const dir = join(work, 'readme-examples')
    mkdirSync(join(dir, 'src'), { recursive: true })
    symlinkSync(join(project('bundler'), 'node_modules'), join(dir, 'node_modules'))
    cpSync(join(consumerDir, 'setups/bundler/tsconfig.json'), join(dir, 'tsconfig.json'))
    // What the README leaves to its reader, declared.
    const prelude = `declare const process: { env: Record<string, string | undefined> }
declare const id: string
declare function loadCursor(): Promise<string | undefined>
declare function saveCursor(cursor: string): Promise<void>
declare function resyncAllUsers(): Promise<void>
declare function apply(event: { id: string }): Promise<void>
export {}
`
    for (const [i, code] of blocks.entries()) writeFileSync(join(dir, `src/readme-${i}.ts`), `${prelude}${code}\n`)
    expect(await tsc(dir)).toEqual({ code: 0, out: '', err: '' })
  })
})

describe('docs/client.md', () => {
  it('shows, as its complete example, tests/consumer/src/example.ts, which every setup compiles', () => {
    const example = readFileSync(join(consumerDir, 'src/example.ts'), 'utf8').trimEnd()
    expect(readFileSync(join(root, 'docs/client.md'), 'utf8')).toContain(`\`\`\`ts\n${example}\n\`\`\``)
  })
})

describe('docs/events.md', () => {
  it('shows, as its webhook receiver, tests/consumer/src/receiver.ts, which every setup compiles', () => {
    const receiver = readFileSync(join(consumerDir, 'src/receiver.ts'), 'utf8').trimEnd()
    expect(readFileSync(join(root, 'docs/events.md'), 'utf8')).toContain(`\`\`\`ts\n${receiver}\n\`\`\``)
  })
})

describe.each(SETUPS)('a %s consumer (strict, skipLibCheck false, "types": [])', (setup) => {
  it('compiles calls to every /v1 route (usage.ts) and the example, with bodies typed by narrowing on the status', async () => {
    expect(await compile(setup)).toEqual({ code: 0, out: '', err: '' })
  })

  it('rejects each misuse case on exactly its line, and nothing else', async () => {
    const { marked, failing, elsewhere } = await misuseErrors(project(setup), join(work, `${setup}-misuse`))
    expect(marked.length).toBeGreaterThanOrEqual(10)
    expect(elsewhere).toEqual([])
    expect(failing).toEqual(marked)
  })
})

describe('the installed package against the real service', () => {
  // [runtime, the setup whose project it runs, command, a short tag for its users' names]
  const runtimes: [string, Setup, string[], string][] = [
    ['Bun', 'bundler', ['bun', 'src/main.ts'], 'bun'],
    ['Node (ESM)', 'nodenext', ['node', 'dist/main.js'], 'esm'],
    ['Node (CommonJS)', 'commonjs', ['node', 'dist/main.js'], 'cjs'],
  ]
  it.each(runtimes)(
    'on %s: create, the v1.1 fields, get by id, username and email, list with cursor, PATCH with If-Match and a stale 412, verify, delete, restore, erase, webhooks, the change feed',
    async (_name, setup, command, tag) => {
      if (setup !== 'bundler') expect((await compile(setup)).code).toBe(0)
      const result = await run(command, project(setup), {
        USERS_SERVICE_URL: server!.url,
        USERS_SERVICE_TOKEN: apiKey,
        CONSUMER_TAG: tag,
      })
      expect(result).toEqual({
        code: 0,
        out: 'consumer ok: create, profile fields, get by id, get by username, get by email, list with cursor, patch with If-Match, stale 412, verify, delete, read deleted, restore, erase, webhooks, events\n',
        err: '',
      })
    },
    30_000,
  )
})
