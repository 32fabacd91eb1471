import { describe, expect, it } from 'bun:test'
import { availableParallelism } from 'node:os'
import { ConfigError, configWarnings, KNOWN_VARIABLES, loadConfig } from '../src/config'
import { describeConfig, passwordHashing, servicePrefixes, uriHosts } from '../src/config.env'

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env)
  } catch (error) {
    if (error instanceof ConfigError) return error.problems
    throw error
  }
  throw new Error('expected a ConfigError')
}

const SECRET = 'x'.repeat(32)
const KEYS = JSON.stringify([{ name: 'billing', sha256: 'b'.repeat(64), scopes: ['users:read'] }])

describe('configuration', () => {
  it('has safe defaults for development', () => {
    expect(loadConfig({})).toMatchObject({
      env: 'development',
      host: '127.0.0.1',
      port: 3000,
      mongodbUri: undefined,
      mongodbDb: 'users',
      bodyLimitBytes: 65536,
      logLevel: 'info',
      logFormat: 'pretty',
      dbTimeoutMs: 5000,
      shutdownTimeoutMs: 10000,
      shutdownDelayMs: 0,
      httpIdleTimeoutSeconds: 75,
      metricsToken: undefined,
      corsOrigins: [],
    })
  })

  it('reads every variable', () => {
    expect(
      loadConfig({
        NODE_ENV: 'production',
        AUTH_API_KEYS: KEYS,
        HOST: '::',
        PORT: '8080',
        MONGODB_URI: 'mongodb+srv://u:p@cluster.example.net/?retryWrites=true',
        MONGODB_DB: 'accounts',
        BODY_LIMIT_BYTES: '131072',
        LOG_LEVEL: 'warn',
        LOG_FORMAT: 'json',
        DB_TIMEOUT_MS: '2500',
        SHUTDOWN_TIMEOUT_MS: '30000',
        SHUTDOWN_DELAY_MS: '5000',
        HTTP_IDLE_TIMEOUT_SECONDS: '120',
        METRICS_TOKEN: 'a-long-enough-metrics-token',
        METRICS_PORT: '9464',
        CORS_ORIGINS: 'https://app.example.com, http://localhost:5173',
      }),
    ).toMatchObject({
      env: 'production',
      host: '::',
      port: 8080,
      mongodbDb: 'accounts',
      bodyLimitBytes: 131072,
      logLevel: 'warn',
      logFormat: 'json',
      dbTimeoutMs: 2500,
      shutdownTimeoutMs: 30000,
      shutdownDelayMs: 5000,
      httpIdleTimeoutSeconds: 120,
      metricsToken: 'a-long-enough-metrics-token',
      metricsPort: 9464,
      corsOrigins: ['https://app.example.com', 'http://localhost:5173'],
    })
  })

  it('listens on every interface in production unless HOST says otherwise', () => {
    expect(
      loadConfig({ NODE_ENV: 'production', MONGODB_URI: 'mongodb://db:27017', AUTH_API_KEYS: KEYS, METRICS_PORT: '9464' }).host,
    ).toBe('0.0.0.0')
  })

  describe('/metrics in production (issue 13)', () => {
    const production = { NODE_ENV: 'production', MONGODB_URI: 'mongodb://db:27017', AUTH_API_KEYS: KEYS }

    it('refuses to start with /metrics public on the service port', () => {
      const problems = problemsOf(production)
      expect(problems).toHaveLength(1)
      expect(problems[0]).toStartWith('METRICS_TOKEN: production refuses public /metrics')
      for (const way of ['METRICS_TOKEN', 'METRICS_PORT', 'METRICS_PUBLIC=true']) expect(problems[0]).toContain(way)
    })

    it.each([
      ['a token', { METRICS_TOKEN: 'a-long-enough-metrics-token' }, { metricsToken: 'a-long-enough-metrics-token' }],
      ['a listener of their own', { METRICS_PORT: '9464' }, { metricsPort: 9464 }],
      ['an explicit opt-in', { METRICS_PUBLIC: 'true' }, { metricsPublic: true }],
    ])('starts with %s', (_, env, expected) => {
      expect(loadConfig({ ...production, ...env })).toMatchObject(expected)
    })

    it('keeps /metrics on the service port, public, outside production', () => {
      expect(loadConfig({})).toMatchObject({ metricsToken: undefined, metricsPort: undefined, metricsPublic: false })
    })
  })

  it('bounds JWT lifetimes at a day unless AUTH_JWT_MAX_AGE_SECONDS says otherwise', () => {
    const jwt = { AUTH_JWT_SECRET: SECRET, AUTH_JWT_ISSUER: 'i', AUTH_JWT_AUDIENCE: 'a' }
    expect(loadConfig(jwt).auth.jwt?.maxAgeSeconds).toBe(86_400)
    expect(loadConfig({ ...jwt, AUTH_JWT_MAX_AGE_SECONDS: '3600' }).auth.jwt?.maxAgeSeconds).toBe(3600)
  })

  it('hashes on as many slots as there are cores (4 at most), 16 waiting per slot and lane, unless configured', () => {
    const slots = Math.min(availableParallelism(), 4)
    expect(loadConfig({}).passwordHashing).toEqual({ concurrency: slots, queueLimit: 16 * slots })
    expect(loadConfig({ PASSWORD_HASH_CONCURRENCY: '3' }).passwordHashing).toEqual({ concurrency: 3, queueLimit: 48 })
    expect(loadConfig({ PASSWORD_HASH_CONCURRENCY: '3', PASSWORD_HASH_QUEUE: '0' }).passwordHashing).toEqual({
      concurrency: 3,
      queueLimit: 0,
    })
  })

  it('treats empty variables as unset', () => {
    expect(loadConfig({ PORT: '', MONGODB_URI: '' })).toMatchObject({ port: 3000, mongodbUri: undefined })
  })

  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ MONGODB_URI: 'http://db:27017' }, 'MONGODB_URI'],
    [{ MONGODB_DB: 'a.b' }, 'MONGODB_DB'],
    [{ BODY_LIMIT_BYTES: '-1' }, 'BODY_LIMIT_BYTES'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ NODE_ENV: 'staging' }, 'NODE_ENV'],
    [
      { NODE_ENV: 'production', AUTH_JWT_SECRET: SECRET, AUTH_JWT_ISSUER: 'i', AUTH_JWT_AUDIENCE: 'a', METRICS_PUBLIC: 'true' },
      'MONGODB_URI',
    ],
    [{ NODE_ENV: 'production', MONGODB_URI: 'mongodb://db', METRICS_PUBLIC: 'true' }, 'AUTH_API_KEYS'],
    [{ NODE_ENV: 'production', MONGODB_URI: 'mongodb://db', AUTH_API_KEYS: KEYS }, 'METRICS_TOKEN'],
    [{ NODE_ENV: 'production', MONGODB_URI: 'mongodb://db', AUTH_API_KEYS: KEYS, METRICS_PUBLIC: 'yes' }, 'METRICS_PUBLIC'],
    [{ METRICS_PORT: '3000' }, 'METRICS_PORT'],
    [{ METRICS_PORT: 'ninety' }, 'METRICS_PORT'],
    [{ AUTH_API_KEYS: 'not json' }, 'AUTH_API_KEYS'],
    [{ AUTH_API_KEYS: '[{"name":"x","sha256":"abc","scopes":["users:read"]}]' }, 'AUTH_API_KEYS'],
    [{ AUTH_API_KEYS: `[{"name":"x","sha256":"${'a'.repeat(64)}","scopes":["users:root"]}]` }, 'AUTH_API_KEYS'],
    [{ AUTH_JWT_SECRET: 'too short', AUTH_JWT_ISSUER: 'i', AUTH_JWT_AUDIENCE: 'a' }, 'AUTH_JWT_SECRET'],
    [{ AUTH_JWT_SECRET: SECRET, AUTH_JWT_AUDIENCE: 'a' }, 'AUTH_JWT_ISSUER'],
    [{ AUTH_JWT_SECRET: SECRET, AUTH_JWT_ISSUER: 'i' }, 'AUTH_JWT_AUDIENCE'],
    [
      { AUTH_JWT_SECRET: SECRET, AUTH_JWT_ISSUER: 'i', AUTH_JWT_AUDIENCE: 'a', AUTH_JWT_ALGORITHMS: 'RS256' },
      'AUTH_JWT_ALGORITHMS',
    ],
    [
      {
        AUTH_JWKS_URL: 'https://idp.example.com/jwks',
        AUTH_JWT_ISSUER: 'i',
        AUTH_JWT_AUDIENCE: 'a',
        AUTH_JWT_ALGORITHMS: 'HS256',
      },
      'AUTH_JWT_ALGORITHMS',
    ],
    [{ AUTH_JWT_ALGORITHMS: 'none' }, 'AUTH_JWT_ALGORITHMS'],
    [{ DB_TIMEOUT_MS: '10' }, 'DB_TIMEOUT_MS'],
    [{ SHUTDOWN_TIMEOUT_MS: 'soon' }, 'SHUTDOWN_TIMEOUT_MS'],
    [{ SHUTDOWN_DELAY_MS: '60001' }, 'SHUTDOWN_DELAY_MS'],
    [{ SHUTDOWN_DELAY_MS: '-1' }, 'SHUTDOWN_DELAY_MS'],
    [{ HTTP_IDLE_TIMEOUT_SECONDS: '4' }, 'HTTP_IDLE_TIMEOUT_SECONDS'],
    [{ HTTP_IDLE_TIMEOUT_SECONDS: '251' }, 'HTTP_IDLE_TIMEOUT_SECONDS'],
    [{ METRICS_TOKEN: 'short' }, 'METRICS_TOKEN'],
    [{ CORS_ORIGINS: 'https://ok.example.com, not-an-origin' }, 'CORS_ORIGINS'],
    [{ LOG_FORMAT: 'xml' }, 'LOG_FORMAT'],
    [{ AUTH_JWT_MAX_AGE_SECONDS: '10' }, 'AUTH_JWT_MAX_AGE_SECONDS'],
    [{ PASSWORD_HASH_CONCURRENCY: '0' }, 'PASSWORD_HASH_CONCURRENCY'],
    [{ PASSWORD_HASH_QUEUE: '-1' }, 'PASSWORD_HASH_QUEUE'],
    [{ AUTH_JWT_MAX_AGE_SECONDS: '31536000' }, 'AUTH_JWT_MAX_AGE_SECONDS'],
  ])('names the bad variable in %o', (env, variable) => {
    const problems = problemsOf(env)
    expect(problems).toHaveLength(1)
    expect(problems[0]).toStartWith(`${variable}: `)
  })

  it('lists every bad variable at once', () => {
    expect(
      problemsOf({ PORT: 'x', LOG_LEVEL: 'y' })
        .map((p) => p.split(':')[0])
        .sort(),
    ).toEqual(['LOG_LEVEL', 'PORT'])
  })

  it('stops the server at startup with a message naming the variable', async () => {
    const proc = Bun.spawn(['bun', 'src/index.ts'], {
      cwd: new URL('..', import.meta.url).pathname,
      env: { PATH: process.env.PATH ?? '', PORT: 'eighty' },
      stdout: 'pipe',
      stderr: 'pipe',
    })
    expect(await proc.exited).toBe(1)
    const stderr = await new Response(proc.stderr).text()
    expect(stderr).toContain('PORT:')
    expect(stderr).toContain('Invalid configuration')
  })
})

describe('configuration: limits on credential checks', () => {
  it('has defaults: 5 per login, 100 per address, 100 per client, 15 minutes, a built-in digest key', () => {
    expect(loadConfig({}).auth.failures).toEqual({
      perLogin: 5,
      perIp: 100,
      perClient: 100,
      windowSeconds: 900,
      keySecret: undefined,
    })
  })

  it('reads every limit variable', () => {
    expect(
      loadConfig({
        AUTH_MAX_FAILURES_PER_LOGIN: '10',
        AUTH_MAX_FAILURES_PER_IP: '500',
        AUTH_MAX_FAILURES_PER_CLIENT: '1000',
        AUTH_FAILURE_WINDOW_SECONDS: '600',
        AUTH_FAILURE_KEY_SECRET: SECRET,
      }).auth.failures,
    ).toEqual({ perLogin: 10, perIp: 500, perClient: 1000, windowSeconds: 600, keySecret: SECRET })
  })

  it.each([
    [{ AUTH_MAX_FAILURES_PER_IP: '0' }, 'AUTH_MAX_FAILURES_PER_IP'],
    [{ AUTH_MAX_FAILURES_PER_IP: '100001' }, 'AUTH_MAX_FAILURES_PER_IP'],
    [{ AUTH_MAX_FAILURES_PER_IP: 'many' }, 'AUTH_MAX_FAILURES_PER_IP'],
    [{ AUTH_MAX_FAILURES_PER_LOGIN: '20', AUTH_MAX_FAILURES_PER_IP: '10' }, 'AUTH_MAX_FAILURES_PER_IP'],
    [{ AUTH_FAILURE_KEY_SECRET: 'short' }, 'AUTH_FAILURE_KEY_SECRET'],
  ])('names the bad variable in %o', (env, variable) => {
    const problems = problemsOf(env)
    expect(problems).toHaveLength(1)
    expect(problems[0]).toStartWith(`${variable}: `)
  })
})

describe('configuration: what an operator review found accepted silently', () => {
  const production = { NODE_ENV: 'production', MONGODB_URI: 'mongodb://db:27017', AUTH_API_KEYS: KEYS, METRICS_PORT: '9464' }

  it('refuses JWT settings without AUTH_JWT_SECRET or AUTH_JWKS_URL, naming each and the two that make them count', () => {
    const problems = problemsOf({ AUTH_JWT_ISSUER: 'i', AUTH_JWT_AUDIENCE: 'a' })
    expect(problems.map((p) => p.split(':')[0])).toEqual(['AUTH_JWT_AUDIENCE', 'AUTH_JWT_ISSUER'])
    for (const problem of problems) {
      expect(problem).toContain('AUTH_JWT_SECRET')
      expect(problem).toContain('AUTH_JWKS_URL')
    }
    expect(problems[0]).toContain('also set: AUTH_JWT_ISSUER')
  })

  it.each([
    [{ AUTH_JWKS_URI: 'https://idp.example.com/jwks', AUTH_JWT_ISSUER: 'i', AUTH_JWT_AUDIENCE: 'a' }, 'AUTH_JWKS_URI'],
    [{ AUTH_JWT_MAX_AGE_SECONDS: '3600' }, 'AUTH_JWT_MAX_AGE_SECONDS'],
    [{ AUTH_JWT_ALGORITHMS: 'RS256' }, 'AUTH_JWT_ALGORITHMS'],
    [{ AUTH_JWT_SECRETT: SECRET }, 'AUTH_JWT_SECRETT'],
  ])('refuses the orphan JWT setting in %o', (env, variable) => {
    expect(problemsOf(env).map((p) => p.split(':')[0])).toContain(variable)
  })

  it('accepts the same JWT settings with a key source, and an empty one as unset', () => {
    expect(loadConfig({ AUTH_JWT_SECRET: SECRET, AUTH_JWT_ISSUER: 'i', AUTH_JWT_AUDIENCE: 'a' }).auth.jwt?.issuer).toBe('i')
    expect(loadConfig({ AUTH_JWT_ISSUER: '' }).auth.jwt).toBeUndefined()
  })

  it.each([
    [{ PORT: ' ' }, 'PORT'],
    [{ METRICS_PORT: '  ' }, 'METRICS_PORT'],
    [{ PORT: '0x50' }, 'PORT'],
    [{ PORT: '8080.5' }, 'PORT'],
  ])('refuses %o: not a port number', (env, variable) => {
    expect(problemsOf(env)).toEqual([`${variable}: must be a port number (0-65535)`])
  })

  it('refuses port 0 (a random port) in production, for PORT and METRICS_PORT, and allows it elsewhere', () => {
    expect(problemsOf({ ...production, PORT: '0' })).toEqual(['PORT: must not be 0 (a random port) in production'])
    expect(problemsOf({ ...production, METRICS_PORT: '0' })).toEqual([
      'METRICS_PORT: must not be 0 (a random port) in production',
    ])
    expect(loadConfig({ NODE_ENV: 'test', PORT: '0', METRICS_PORT: '0' })).toMatchObject({ port: 0, metricsPort: 0 })
    expect(loadConfig({ ...production, PORT: '8080' }).port).toBe(8080)
  })

  it('refuses LOG_FORMAT=pretty in production (the image has no pino-pretty), not elsewhere', () => {
    const problems = problemsOf({ ...production, LOG_FORMAT: 'pretty' })
    expect(problems).toHaveLength(1)
    expect(problems[0]).toStartWith('LOG_FORMAT: pretty logs are for development')
    expect(loadConfig({ NODE_ENV: 'test', LOG_FORMAT: 'pretty' }).logFormat).toBe('pretty')
  })

  it('caps the default hashing slots at 4 whatever the cores, and keeps an explicit setting', () => {
    expect(passwordHashing(undefined, undefined, 64)).toEqual({ concurrency: 4, queueLimit: 64 })
    expect(passwordHashing(undefined, undefined, 2)).toEqual({ concurrency: 2, queueLimit: 32 })
    expect(passwordHashing(32, undefined, 2)).toEqual({ concurrency: 32, queueLimit: 512 })
    expect(loadConfig({ PASSWORD_HASH_CONCURRENCY: '256' }).passwordHashing.concurrency).toBe(256)
  })

  it('warns in production, and only there, when the failed-attempt digests use the built-in key', () => {
    const messages = (env: Record<string, string>) =>
      configWarnings(loadConfig(env), env)
        .map((w) => w.message)
        .filter((message) => !message.startsWith('WEBHOOK_SECRET_KEYS'))
    const warned = messages(production)
    expect(warned).toHaveLength(1)
    expect(warned[0]).toStartWith('AUTH_FAILURE_KEY_SECRET is not set')
    expect(messages({ ...production, AUTH_FAILURE_KEY_SECRET: SECRET })).toEqual([])
    expect(messages({ NODE_ENV: 'test' })).toEqual([])
  })
})

describe("configuration: variables named like the service's that it does not read", () => {
  const warningsOf = (env: Record<string, string>) => configWarnings(loadConfig({}), env)

  it('warns once, with the names and the nearest known name, never the values', () => {
    const env = {
      SHUTDOWN_TIMEOUT: 'value-1',
      PASSWORD_HASH_CONCURENCY: 'value-2',
      AUTH_JWKS_URI: 'value-3',
      DB_HOST: 'value-4',
      USER_RETENTION: 'value-5',
      PORT: '3000',
      LOG_LEVEL: 'info',
    }
    const warnings = warningsOf(env)
    expect(warnings).toHaveLength(1)
    expect(warnings[0]?.fields).toEqual({
      variables: ['AUTH_JWKS_URI', 'DB_HOST', 'PASSWORD_HASH_CONCURENCY', 'SHUTDOWN_TIMEOUT', 'USER_RETENTION'],
      suggestions: {
        AUTH_JWKS_URI: 'AUTH_JWKS_URL',
        PASSWORD_HASH_CONCURENCY: 'PASSWORD_HASH_CONCURRENCY',
        SHUTDOWN_TIMEOUT: 'SHUTDOWN_TIMEOUT_MS',
        // A unit suffix left out: further than 3 edits, still the name meant.
        USER_RETENTION: 'USER_RETENTION_DAYS',
      },
    })
    expect(warnings[0]?.message).toContain('SHUTDOWN_TIMEOUT (did you mean SHUTDOWN_TIMEOUT_MS?)')
    expect(JSON.stringify(warnings)).not.toContain('value-')
  })

  it("leaves the runtimes' variables, other prefixes and Kubernetes' service links alone", () => {
    expect(
      warningsOf({
        NODE_OPTIONS: '--max-old-space-size=256',
        NODE_EXTRA_CA_CERTS: '/ca.pem',
        BUN_JSC_forceRAMSize: '268435456',
        HTTP_PROXY: 'http://proxy:3128',
        HOME: '/home/x',
        BENCH_API_KEY: 'k',
        SCIM_TOKEN: 't',
        USERS_SERVICE_URL: 'http://x',
        DB_SERVICE_HOST: '10.0.0.1',
        DB_PORT_27017_TCP_ADDR: '10.0.0.1',
        // The bare service link of a Service named mongodb, told by its value.
        MONGODB_PORT: 'tcp://10.0.0.11:27017',
        SHUTDOWN_TIMEOUT_MS: '',
        LOG_SOMETHING: '',
      }),
    ).toEqual([])
  })

  it("derives the prefixes from the variables it reads, without the runtimes' own", () => {
    const prefixes = servicePrefixes(KNOWN_VARIABLES)
    for (const prefix of ['AUTH_', 'METRICS_', 'WEBHOOK_', 'EVENTS_', 'DB_', 'SHUTDOWN_', 'PASSWORD_', 'MONGODB_', 'LOG_']) {
      expect(prefixes).toContain(prefix)
    }
    expect(prefixes).not.toContain('NODE_')
    // A variable added to the schema brings its prefix.
    expect(servicePrefixes([...KNOWN_VARIABLES, 'TRACING_SAMPLE_RATE'])).toContain('TRACING_')
  })

  it('still warns of a bare *_PORT whose value is no service link', () => {
    expect(warningsOf({ MONGODB_PORT: '27017' })[0]?.message).toContain('MONGODB_PORT')
  })

  it("does not refuse a Service named like a JWT setting: Kubernetes' links are not settings", () => {
    const links = {
      AUTH_JWT_SERVICE_HOST: '10.0.0.12',
      AUTH_JWT_PORT: 'tcp://10.0.0.12:443',
      AUTH_JWT_PORT_443_TCP: 'tcp://10.0.0.12:443',
    }
    expect(() => loadConfig(links)).not.toThrow()
  })
})

describe('configuration: timeouts belong to DB_TIMEOUT_MS', () => {
  it('refuses timeout options in MONGODB_URI, whatever their case, naming them', () => {
    const problems = problemsOf({ MONGODB_URI: 'mongodb://db:27017/?replicaSet=rs0&connectTimeoutMS=30000&SOCKETTIMEOUTMS=0' })
    expect(problems).toHaveLength(1)
    expect(problems[0]).toContain('MONGODB_URI: connectTimeoutMS, SOCKETTIMEOUTMS: set the database')
    expect(problems[0]).toContain('DB_TIMEOUT_MS')
    expect(() => loadConfig({ MONGODB_URI: 'mongodb://db:27017/?replicaSet=rs0&maxPoolSize=200' })).not.toThrow()
  })
})

describe("configuration: the consistency the service needs is not the URI's to weaken", () => {
  it('refuses w other than majority, journal=false, reads from secondaries and other read concerns, naming them', () => {
    const uri = 'mongodb://a,b,c/?replicaSet=rs0&w=1&journal=false&readPreference=secondaryPreferred&readConcernLevel=available'
    const problems = problemsOf({ MONGODB_URI: uri })
    expect(problems).toHaveLength(1)
    expect(problems[0]).toContain(
      'MONGODB_URI: w=1, journal=false, readPreference=secondaryPreferred, readConcernLevel=available:',
    )
    expect(problemsOf({ MONGODB_URI: 'mongodb://db/?W=0' })[0]).toContain('W=0')
    // A stronger w (3 of a 3-member set) is refused too, as ignored rather than weaker: the client writes w=majority.
    expect(problemsOf({ MONGODB_URI: 'mongodb://a,b,c/?replicaSet=rs0&w=3' })[0]).toContain(
      'MONGODB_URI: w=3: leave these out: the service writes with w=majority, journaled, and reads from the primary, whatever the URI says',
    )
  })

  it("refuses journal's other name j=false, and maxStalenessSeconds (the primary, which the service reads from, takes none)", () => {
    expect(problemsOf({ MONGODB_URI: 'mongodb://a,b,c/?replicaSet=rs0&J=false' })[0]).toContain('MONGODB_URI: J=false:')
    expect(problemsOf({ MONGODB_URI: 'mongodb://a,b,c/?replicaSet=rs0&maxStalenessSeconds=120' })[0]).toContain(
      'MONGODB_URI: maxStalenessSeconds=120:',
    )
    expect(() => loadConfig({ MONGODB_URI: 'mongodb://a,b,c/?replicaSet=rs0&j=true' })).not.toThrow()
  })

  it("accepts what the service sets anyway: an Atlas string's w=majority, the primary, local or majority reads", () => {
    for (const query of ['retryWrites=true&w=majority&appName=Cluster0', 'readPreference=primary', 'readConcernLevel=majority']) {
      expect(() => loadConfig({ MONGODB_URI: `mongodb+srv://u:p@cluster0.example.net/?${query}` })).not.toThrow()
    }
  })
})

describe('configuration: the idle timeout and the database deadline', () => {
  it('refuses an idle timeout shorter than a database call may wait, which Bun would cut before its 503', () => {
    expect(problemsOf({ HTTP_IDLE_TIMEOUT_SECONDS: '10', DB_TIMEOUT_MS: '5000' })).toEqual([
      expect.stringContaining('HTTP_IDLE_TIMEOUT_SECONDS: must be at least a database call'),
    ])
    expect(problemsOf({ DB_TIMEOUT_MS: '40000' })[0]).toContain('(81 s)')
    expect(() => loadConfig({ HTTP_IDLE_TIMEOUT_SECONDS: '11', DB_TIMEOUT_MS: '5000' })).not.toThrow()
  })
})

describe('configuration: the startup summary', () => {
  it('names auth sources, /metrics and the database hosts, and no credential, option or secret', () => {
    const config = loadConfig({
      MONGODB_URI: 'mongodb://alice:s3cret-pw@db1.internal:27017,db2.internal:27018/admin?replicaSet=rs0&tls=true',
      MONGODB_DB: 'accounts',
      AUTH_API_KEYS: KEYS,
      AUTH_JWKS_URL: 'https://idp.example.com/.well-known/jwks.json',
      AUTH_JWT_ISSUER: 'i',
      AUTH_JWT_AUDIENCE: 'a',
      METRICS_PORT: '9464',
      METRICS_TOKEN: 'a-long-enough-metrics-token',
    })
    const summary = describeConfig(config)
    expect(summary).toEqual({
      auth: { apiKeys: 1, jwt: 'jwks idp.example.com' },
      metrics: 'port 9464, token',
      database: { name: 'accounts', hosts: 'db1.internal:27017,db2.internal:27018' },
    })
    expect(JSON.stringify(summary)).not.toMatch(/alice|s3cret|replicaSet|admin|metrics-token|bbbb|jwks\.json/)
  })

  it('says secret, none, public and embedded', () => {
    expect(describeConfig(loadConfig({ AUTH_JWT_SECRET: SECRET, AUTH_JWT_ISSUER: 'i', AUTH_JWT_AUDIENCE: 'a' }))).toEqual({
      auth: { apiKeys: 0, jwt: 'secret' },
      metrics: 'public',
      database: { name: 'users', hosts: 'embedded' },
    })
    expect(describeConfig(loadConfig({})).auth).toEqual({ apiKeys: 0, jwt: 'none' })
  })

  it.each([
    ['mongodb+srv://u:p@cluster0.example.net/?retryWrites=true', 'cluster0.example.net'],
    ['mongodb://db:27017', 'db:27017'],
    ['mongodb://u%40x:p%2Fw@h1,h2:27018/?authSource=admin', 'h1,h2:27018'],
  ])('reads the hosts of %s', (uri, hosts) => {
    expect(uriHosts(uri)).toBe(hosts)
  })
})
