import { describe, expect, it } from 'bun:test'
import { readdirSync, readFileSync } from 'node:fs'
import { join, posix } from 'node:path'
import { CONTAINER_ENV } from '../scripts/bench/container-env'
import {
  baseImage,
  envOf,
  inherited,
  isIgnored,
  jsonArray,
  landings,
  last,
  parseCopy,
  parseDockerfile,
  parseDockerignore,
  runtimeGraph,
  stageIndex,
  workdirOf,
} from './helpers/docker'

/**
 * The container image, checked without a Docker engine: the Dockerfile and .dockerignore are parsed
 * here (just enough of their syntax for what this repository uses) and the files the service needs
 * at run time are followed from the image's CMD through the imports.
 */

const root = join(import.meta.dir, '..')
const read = (path: string) => readFileSync(join(root, path), 'utf8')
const pkg: {
  packageManager: string
  scripts: Record<string, string>
  dependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
  peerDependenciesMeta?: Record<string, { optional?: boolean }>
} = JSON.parse(read('package.json'))

// --- the checks --------------------------------------------------------------------------------

const stages = parseDockerfile(read('Dockerfile'))
const final = stages.length - 1
const finalInstructions = inherited(stages, final)
const workdir = workdirOf(finalInstructions)
const cmd = jsonArray(last(finalInstructions, 'CMD'))
const ignoreRules = parseDockerignore(read('.dockerignore'))
// The image runs the bundle of src/index.ts (`bun run build:bun`, build output): the stage that
// builds it needs every file the entry point imports, and the final stage needs what it made.
const entry = 'src/index.ts'
const BUNDLE_DIR = 'dist/bun'
const builder = stages.findIndex(({ instructions }) =>
  instructions.some(({ keyword, args }) => keyword === 'RUN' && /\bbun run build:bun\b/.test(args)),
)
const builderWorkdir = builder < 0 ? undefined : workdirOf(inherited(stages, builder))
const graph = runtimeGraph(entry)
const neededFiles = [...graph.files, 'package.json', 'bun.lock']

describe('the .dockerignore matcher used by these tests', () => {
  it('re-includes a directory after excluding everything', () => {
    const rules = parseDockerignore('*\n!src/\n')
    expect(isIgnored(rules, 'src/users/index.ts')).toBe(false)
    expect(isIgnored(rules, 'tests/setup.ts')).toBe(true)
    expect(isIgnored(rules, 'package.json')).toBe(true)
    expect(isIgnored(rules, 'srcx/index.ts')).toBe(true)
  })

  it('matches ** across directories and * within one', () => {
    const rules = parseDockerignore('**/*.log\n!keep/*.log\n')
    expect(isIgnored(rules, 'a/b/c.log')).toBe(true)
    expect(isIgnored(rules, 'c.log')).toBe(true)
    expect(isIgnored(rules, 'keep/c.log')).toBe(false)
    expect(isIgnored(rules, 'keep/deeper/c.log')).toBe(true)
    expect(isIgnored(rules, 'c.logs')).toBe(false)
  })

  it('lets the last matching line win and skips comments', () => {
    expect(isIgnored(parseDockerignore('docs\n!docs/README.md\ndocs/README.md\n'), 'docs/README.md')).toBe(true)
    expect(isIgnored(parseDockerignore('docs\n!docs/README.md\n'), 'docs/README.md')).toBe(false)
    expect(isIgnored(parseDockerignore('# tests\n'), 'tests/setup.ts')).toBe(false)
  })
})

describe('the Dockerfile parser used by these tests', () => {
  it('follows COPY --from through stages and WORKDIR', () => {
    const parsed = parseDockerfile(
      'FROM img AS a\nWORKDIR /w\n# a comment\nCOPY lib ./lib\nFROM img\nWORKDIR /app\nCOPY --from=a /w/lib \\\n  ./vendor\nCOPY a.txt b.txt ./\n',
    )
    expect(landings(parsed, 1, 'lib/x/y.ts')).toEqual(['/app/vendor/x/y.ts'])
    expect(landings(parsed, 1, 'b.txt')).toEqual(['/app/b.txt'])
    expect(landings(parsed, 1, 'other/y.ts')).toEqual([])
  })
})

describe('the image holds everything the service runs', () => {
  it('starts the bundle of the entry point with an exec-form CMD', () => {
    expect(cmd).toEqual(['bun', `${BUNDLE_DIR}/index.js`])
  })

  it('builds the bundle with build:bun, from src/index.ts into dist/bun, for Bun', () => {
    expect(builder).toBeGreaterThanOrEqual(0)
    expect(pkg.scripts['build:bun']).toContain(`bun build ${entry} --outdir ${BUNDLE_DIR} --target bun`)
  })

  it('copies every file the bundle is built from into the stage that builds it', () => {
    expect(builderWorkdir).toStartWith('/')
    const missing = neededFiles.filter(
      (file) => !landings(stages, builder, file).includes(posix.join(builderWorkdir ?? '/', file)),
    )
    expect(missing).toEqual([])
  })

  it('copies the bundle from that stage to where the CMD finds it', () => {
    const built = posix.join(builderWorkdir ?? '/', BUNDLE_DIR)
    const copies = finalInstructions
      .filter(({ keyword }) => keyword === 'COPY')
      .map(({ args }) => parseCopy(args))
      .filter((copy) => copy.from !== undefined && stageIndex(stages, copy.from) === builder)
      .filter((copy) => copy.sources.map((source) => posix.resolve('/', source)).includes(built))
    expect(copies.map((copy) => posix.resolve(workdir ?? '/', copy.dest))).toEqual([posix.join(workdir ?? '/', BUNDLE_DIR)])
  })

  it('ships every file the import command runs from (bun run import:seed, docs/migration.md)', () => {
    const script = pkg.scripts['import:seed'] ?? ''
    const cli = /^bun (src\/\S+\.ts)$/.exec(script)?.[1]
    expect(cli).toBeDefined()
    const missing = runtimeGraph(cli as string).files.filter(
      (file) => !landings(stages, final, file).includes(posix.join(workdir ?? '/', file)),
    )
    expect(missing).toEqual([])
  })

  it('follows the imports from the entry point', () => {
    expect(graph.files).toContain('src/index.ts')
    expect(graph.files).toContain('src/system/docs.ts')
    expect(graph.files).toContain('package.json') // src/openapi.ts imports it with { type: 'json' }
  })

  it('ships package.json and the lockfile beside the production dependencies', () => {
    expect(workdir).toStartWith('/')
    const missing = ['package.json', 'bun.lock'].filter(
      (file) => !landings(stages, final, file).includes(posix.join(workdir ?? '/', file)),
    )
    expect(missing).toEqual([])
  })

  it('keeps no needed file out of the build context', () => {
    expect(neededFiles.filter((file) => isIgnored(ignoreRules, file))).toEqual([])
  })

  it('imports only packages a production install provides', () => {
    // `bun install --production` skips devDependencies but installs peerDependencies that are not optional.
    const peers = Object.keys(pkg.peerDependencies ?? {}).filter((name) => !pkg.peerDependenciesMeta?.[name]?.optional)
    const installed = new Set([...Object.keys(pkg.dependencies ?? {}), ...peers])
    // swagger-ui-dist is not imported: its files are read from node_modules at run time.
    const used = [...graph.packages, 'swagger-ui-dist']
    expect(graph.packages).toContain('hono')
    expect(used.filter((name) => !installed.has(name))).toEqual([])
  })
})

describe('the final stage', () => {
  it('is built, like every stage, on the official oven/bun image at the Bun version package.json pins', () => {
    const version = pkg.packageManager.replace(/^bun@/, '')
    const images = stages.map((_, index) => baseImage(stages, index))
    expect(images.map((image) => /^(?:docker\.io\/)?oven\/bun:(\d+\.\d+\.\d+)(?:-[a-z]+)?$/.exec(image)?.[1])).toEqual(
      images.map(() => version),
    )
    expect(stages.length).toBeGreaterThan(1)
  })

  it('installs production dependencies only, from the lockfile, and ships them', () => {
    const nodeModules = posix.join(workdir ?? '/', 'node_modules')
    const copy = finalInstructions
      .filter(({ keyword }) => keyword === 'COPY')
      .map(({ args }) => parseCopy(args))
      .find(({ dest }) => posix.resolve(workdir ?? '/', dest) === nodeModules)
    const installer = copy?.from === undefined ? final : stageIndex(stages, copy.from)
    expect(installer).toBeDefined()
    const runs = inherited(stages, installer ?? final)
      .filter(({ keyword, args }) => keyword === 'RUN' && /\bbun\s+(install|i)\b/.test(args))
      .map(({ args }) => args)
    expect(runs.length).toBeGreaterThan(0)
    expect(runs.filter((run) => !/\s--frozen-lockfile\b/.test(run) || !/\s--production\b/.test(run))).toEqual([])
    const installDir = workdirOf(inherited(stages, installer ?? final)) ?? '/'
    for (const file of ['package.json', 'bun.lock']) {
      expect(landings(stages, installer ?? final, file)).toContain(posix.join(installDir, file))
    }
  })

  it('runs as a user other than root', () => {
    const user = last(finalInstructions, 'USER')
    expect(user).toBeDefined()
    expect(['root', '0']).not.toContain(user?.split(':')[0])
  })

  it('exposes port 3000', () => {
    const ports = finalInstructions.filter(({ keyword }) => keyword === 'EXPOSE').flatMap(({ args }) => args.split(/\s+/))
    expect(ports.map((port) => port.replace(/\/tcp$/, ''))).toContain('3000')
  })

  it('checks /healthz with bun itself (no curl or wget in the image), with every timing set', () => {
    const healthcheck = last(finalInstructions, 'HEALTHCHECK') ?? ''
    for (const option of ['--interval=', '--timeout=', '--start-period=', '--retries=']) expect(healthcheck).toContain(option)
    const command = jsonArray(/\bCMD\s+(\[.*\])$/.exec(healthcheck)?.[1])
    expect(Array.isArray(command) ? command[0] : command).toBe('bun')
    expect(healthcheck).toContain('/healthz')
  })

  it('stops with SIGTERM, which the service handles', () => {
    expect(last(finalInstructions, 'STOPSIGNAL')).toBe('SIGTERM')
  })

  it('runs in production mode and leaves MONGODB_URI to the deployment', () => {
    expect(envOf(finalInstructions).get('NODE_ENV')).toBe('production')
    // The benchmark runs the container's command with the image's environment: the two agree.
    const env = Object.fromEntries([...envOf(finalInstructions)].filter(([name]) => name !== 'NODE_ENV'))
    expect(env).toEqual(CONTAINER_ENV)
    expect(Number(env.BUN_JSC_forceRAMSize)).toBeGreaterThanOrEqual(128 * 2 ** 20)
    const mentions = stages.flatMap(({ instructions }) => instructions).filter(({ args }) => args.includes('MONGODB_URI'))
    expect(mentions).toEqual([])
  })
})

describe('.dockerignore', () => {
  it.each([
    'tests/setup.ts',
    '.data/devdb/devdb.log',
    '.cache/devdb/launcher',
    '.git/HEAD',
    'node_modules/hono/package.json',
    'tools/devdb/main.go',
    'scripts/openapi.ts',
    'dist/index.js',
    'openapi.json',
    'README.md',
    '.env',
    '.env.production',
    'server.log',
  ])('keeps %s out of the build context', (path) => {
    expect(isIgnored(ignoreRules, path)).toBe(true)
  })

  it('lets in nothing at the top level but package.json, bun.lock and src', () => {
    expect(
      readdirSync(root)
        .filter((name) => !isIgnored(ignoreRules, name))
        .sort(),
    ).toEqual(['bun.lock', 'package.json', 'src'])
  })
})
