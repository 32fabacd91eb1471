import { afterAll, describe, expect, it } from 'bun:test'
import { MongoClient } from 'mongodb'
import { testConfig } from '../src/config'
import { UnavailableError } from '../src/errors'
import type { PasswordHasher } from '../src/users/passwords'
import { createHashingPool } from '../src/users/passwords.pool'
import { json, newUser, useTestApp } from './helpers/context'
import { expectProblem } from './helpers/problem'
import { startServer } from './helpers/process'

/**
 * Issue 13, finding 4: argon2 work (about 100 ms of CPU each) runs on a bounded pool with a bounded
 * queue per lane, verifications first. How much that buys a login during a flood of creates is
 * measured by `bun run bench:hash-flood`, not here: these tests pin the rules, with a hasher whose
 * jobs finish when the test says so.
 */

/** A hasher whose jobs wait until released, recording what ran and how many at once. */
function controlledHasher() {
  const waiting: { label: string; finish: () => void }[] = []
  const started: string[] = []
  let running = 0
  let mostAtOnce = 0
  let passThrough = false
  const job = <T>(label: string, value: T) => {
    started.push(label)
    if (passThrough) return Promise.resolve(value)
    running++
    mostAtOnce = Math.max(mostAtOnce, running)
    return new Promise<T>((resolve) => {
      waiting.push({
        label,
        finish: () => {
          running--
          resolve(value)
        },
      })
    })
  }
  const hasher: PasswordHasher = {
    hash: (password) => job(`hash:${password}`, `$argon2id$fake$${password}`),
    verify: (password, hash) => job(`verify:${password}`, hash === `$argon2id$fake$${password}`),
  }
  return {
    hasher,
    started,
    mostAtOnce: () => mostAtOnce,
    /** From now on, jobs finish at once (or, with false, wait to be released again). */
    passThrough(on: boolean) {
      passThrough = on
    },
    /** Resolves once `count` jobs are waiting to be released (polled; bounded). */
    async untilWaiting(count: number) {
      for (let i = 0; i < 500 && waiting.length < count; i++) await Bun.sleep(2)
      if (waiting.length < count) throw new Error(`only ${waiting.length} jobs waiting, expected ${count}`)
    },
    /** Finishes the oldest running job, then lets the pool start the next. */
    async finishOne() {
      waiting.shift()?.finish()
      await Bun.sleep(0)
    },
    async finishAll() {
      while (waiting.length > 0) await this.finishOne()
    },
  }
}

/** Settles a promise into a value or its error, so a test can look at a rejection later. */
const settle = <T>(promise: Promise<T>) =>
  promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  )

describe('the argon2 pool', () => {
  it('never runs more jobs at once than its concurrency', async () => {
    const control = controlledHasher()
    const pool = createHashingPool(control.hasher, { concurrency: 2, queueLimit: 100 })
    const jobs = Array.from({ length: 60 }, (_, i) => (i % 3 === 0 ? pool.verify(`p${i}`, 'x') : pool.hash(`p${i}`)))
    await Bun.sleep(0)
    expect(control.started).toHaveLength(2)
    await control.finishAll()
    await Promise.all(jobs)
    expect(control.started).toHaveLength(60)
    expect(control.mostAtOnce()).toBe(2)
  })

  it('refuses a job whose lane is full before any hashing: 503 service_unavailable with Retry-After', async () => {
    const control = controlledHasher()
    const pool = createHashingPool(control.hasher, { concurrency: 1, queueLimit: 2 })
    const accepted = [pool.hash('a'), pool.hash('b'), pool.hash('c')]
    const refused = await settle(pool.hash('d'))
    const error = 'error' in refused ? refused.error : undefined
    // The domain's "unavailable" outcome: src/http/outcomes.ts answers it with 503 and Retry-After.
    expect(error).toBeInstanceOf(UnavailableError)
    if (!(error instanceof UnavailableError)) return
    expect(error.retryAfterSeconds).toBeGreaterThanOrEqual(1)
    expect(pool.stats()).toEqual({ running: 1, queued: { verify: 0, hash: 2 }, rejected: { verify: 0, hash: 1 } })
    // The verify lane has its own room: a login is not refused because creates filled theirs.
    const login = pool.verify('a', '$argon2id$fake$a')
    await control.finishAll()
    expect(await Promise.all(accepted)).toEqual(['$argon2id$fake$a', '$argon2id$fake$b', '$argon2id$fake$c'])
    expect(await login).toBe(true)
    expect(control.started).not.toContain('hash:d')
  })

  it('runs a waiting verification before every waiting hash', async () => {
    const control = controlledHasher()
    const pool = createHashingPool(control.hasher, { concurrency: 1, queueLimit: 100 })
    const jobs = [pool.hash('first'), pool.hash('second'), pool.hash('third'), pool.verify('login', 'x')]
    await Bun.sleep(0)
    expect(control.started).toEqual(['hash:first'])
    await control.finishAll()
    await Promise.all(jobs)
    expect(control.started).toEqual(['hash:first', 'verify:login', 'hash:second', 'hash:third'])
  })

  it('keeps going after a hasher that throws or rejects', async () => {
    const pool = createHashingPool(
      {
        hash: (password) => {
          if (password === 'throws') throw new Error('sync failure')
          return password === 'rejects' ? Promise.reject(new Error('async failure')) : Promise.resolve(`h:${password}`)
        },
        verify: async () => true,
      },
      { concurrency: 1, queueLimit: 10 },
    )
    const results = await Promise.all([settle(pool.hash('throws')), settle(pool.hash('rejects')), settle(pool.hash('fine'))])
    expect(results.map((r) => ('value' in r ? r.value : (r.error as Error).message))).toEqual([
      'sync failure',
      'async failure',
      'h:fine',
    ])
    expect(pool.stats().running).toBe(0)
  })
})

describe('routes that hash, when the pool is full', async () => {
  const control = controlledHasher()
  const t = await useTestApp({
    name: 'hash_pool_routes',
    deps: {
      config: testConfig({ legacyRoutes: true }),
      passwords: createHashingPool(control.hasher, { concurrency: 1, queueLimit: 0 }),
    },
  })
  const patch = (id: string, body: object) =>
    t.raw(`/v1/users/${id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/merge-patch+json' },
      body: JSON.stringify(body),
    })

  it('answer 503 with Retry-After and change nothing: create, PATCH, verify, compatibility create and update', async () => {
    control.passThrough(true)
    const existing = (await (
      await t.raw('/v1/users', json(newUser({ username: 'pool.owner', password: 'owner-password' })))
    ).json()) as {
      id: string
      version: number
    }
    control.passThrough(false)
    // One job holds the only slot; the queue holds none.
    const holder = t.raw('/v1/users', json(newUser({ password: 'holds-the-slot' })))
    await control.untilWaiting(1)
    const refusals = [
      await t.raw('/v1/users', json(newUser({ username: 'pool.refused', password: 'refused-password' }))),
      await patch(existing.id, { password: 'changed-password' }),
      await t.raw('/v1/auth/verify', json({ login: 'pool.owner', password: 'owner-password' })),
      await t.raw('/create', json({ username: 'pool.legacy', email: 'pool.legacy@example.com', password: 'legacy-pass' })),
      await t.raw('/update/pool.owner', { ...json({ password: 'changed-again' }), method: 'PUT' }),
    ]
    for (const res of refusals) {
      const retryAfter = res.headers.get('retry-after')
      await expectProblem(res, 503, 'service_unavailable')
      expect(Number(retryAfter)).toBeGreaterThanOrEqual(1)
    }
    await control.finishAll()
    expect((await holder).status).toBe(201)
    expect(await t.collection.countDocuments({ username: { $in: ['pool.refused', 'pool.legacy'] } })).toBe(0)
    const owner = await t.collection.findOne({ username: 'pool.owner' })
    expect(owner?.version).toBe(existing.version)
    expect(owner?.passwordHash).toBe('$argon2id$fake$owner-password')
    // Once the pool has room again, logins are answered: a refusal while full is not remembered
    // (the unknown-login dummy hash made during the refusal must not stay a cached rejection).
    control.passThrough(true)
    await expectProblem(
      await t.raw('/v1/auth/verify', json({ login: 'nobody.here', password: 'whatever' })),
      401,
      'invalid_credentials',
    )
    expect((await t.raw('/v1/auth/verify', json({ login: 'pool.owner', password: 'owner-password' }))).status).toBe(200)
  })
})

describe('POST /v1/auth/verify, when the pool is full', async () => {
  const control = controlledHasher()
  const config = testConfig()
  // One failed attempt per login: a refused check that counted would lock the login at once.
  config.auth = { ...config.auth, failures: { ...config.auth.failures, perLogin: 1 } }
  const t = await useTestApp({
    name: 'hash_pool_verify',
    deps: { config, passwords: createHashingPool(control.hasher, { concurrency: 1, queueLimit: 0 }) },
  })

  it('counts a check refused with 503 against no limit: the next wrong password is a 401, not a 429', async () => {
    control.passThrough(true)
    await t.raw('/v1/users', json(newUser({ username: 'pool.counted', password: 'counted-password' })))
    control.passThrough(false)
    const holder = t.raw('/v1/users', json(newUser({ password: 'holds-the-slot' })))
    await control.untilWaiting(1)
    const verify = (password: string) => t.raw('/v1/auth/verify', json({ login: 'pool.counted', password }))
    await expectProblem(await verify('wrong-password'), 503, 'service_unavailable')
    await control.finishAll()
    expect((await holder).status).toBe(201)
    control.passThrough(true)
    await expectProblem(await verify('wrong-password'), 401, 'invalid_credentials')
    await expectProblem(await verify('counted-password'), 429, 'rate_limited')
  })
})

describe('the service process (PASSWORD_HASH_CONCURRENCY=1, PASSWORD_HASH_QUEUE=1)', async () => {
  const dbName = `test_hash_pool_${crypto.randomUUID().slice(0, 8)}`
  const { proc, url } = await startServer(['bun', 'src/index.ts'], {
    MONGODB_URI: globalThis.testMongoUri,
    MONGODB_DB: dbName,
    PASSWORD_HASH_CONCURRENCY: '1',
    PASSWORD_HASH_QUEUE: '1',
  })
  afterAll(async () => {
    proc.kill('SIGTERM')
    await proc.exited
    const client = new MongoClient(globalThis.testMongoUri)
    await client.db(dbName).dropDatabase()
    await client.close()
  })

  it('refuses the creates beyond one running and one waiting with 503, storing none of them', async () => {
    const bodies = Array.from({ length: 12 }, () => newUser({ password: 'a flood of creates' }))
    const answers = await Promise.all(
      bodies.map((body) =>
        fetch(`${url}v1/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
      ),
    )
    const created = answers.filter((res) => res.status === 201)
    const refused = answers.filter((res) => res.status === 503)
    expect(created.length + refused.length).toBe(12)
    expect(refused.length).toBeGreaterThanOrEqual(1)
    for (const res of refused) {
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
      expect(await res.json()).toMatchObject({ code: 'service_unavailable' })
    }
    const client = new MongoClient(globalThis.testMongoUri)
    expect(await client.db(dbName).collection('users').countDocuments()).toBe(created.length)
    await client.close()
    const metrics = await (await fetch(`${url}metrics`)).text()
    expect(metrics).toContain(`password_hash_rejected_total{lane="hash"} ${refused.length}`)
  }, 30_000)
})
