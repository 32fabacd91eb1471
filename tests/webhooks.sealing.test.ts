import { afterAll, describe, expect, it } from 'bun:test'
import type { DatabaseHandle } from '../src/db/calls'
import type { Lease } from '../src/db/lease'
import { createWebhookDispatcher } from '../src/webhooks/webhooks.dispatcher'
import { createWebhookEndpoints } from '../src/webhooks/webhooks.repository'
import { reportAttempt } from '../src/webhooks/webhooks.runner'
import { createSecretSealer, keyIdOf } from '../src/webhooks/webhooks.sealing'
import { useTestApp } from './helpers/context'
import { loopbackWorkers, publishEvents, startReceiver, useWebhooksTestApp, verifyBoth } from './helpers/webhooks'

/**
 * Webhook secrets sealed at rest (WEBHOOK_SECRET_KEYS, docs/events.md): what the `webhooks`
 * collection holds, read raw; deliveries checked with both verifiers; instances of the service
 * with other keys (or none) sharing one database, as replicas during a key rotation would.
 */
const receiver = startReceiver()
const leases: Lease[] = []
afterAll(async () => {
  await Promise.all(leases.map((lease) => lease.stop()))
  receiver.stop()
})

const key1 = new Uint8Array(32).fill(1)
const key2 = new Uint8Array(32).fill(2)
type Instance = Awaited<ReturnType<typeof useTestApp>>
type StoredSecrets = { secrets: { secret: string; expiresAt?: Date }[]; version: number }

/** The first instance holds the dispatcher's lease; `instance` adds another on its database with its own keys. */
async function world(name: string, secretKeys: Uint8Array[]) {
  const { app, lease } = await useWebhooksTestApp(name, leases, undefined, secretKeys)
  const instance = (keys: Uint8Array[]) => {
    const config = { ...app.deps.config, webhooks: { ...app.deps.config.webhooks, secretKeys: keys } }
    return useTestApp({ name, deps: { config }, sameDatabaseAs: app })
  }
  const raw = async (id: string) =>
    (await app.db.collection<{ _id: string } & StoredSecrets>('webhooks').findOne({ _id: id })) as unknown as StoredSecrets
  const create = async (on: Instance, suffix: string) => {
    const res = await on.api.v1.webhooks.$post({ json: { url: receiver.url(`/${name}/${suffix}`) } })
    if (res.status !== 201) throw new Error(`create failed: ${res.status}`)
    const { id, secret } = await res.json()
    return { id, secret, path: `/${name}/${suffix}` }
  }
  /** One dispatch round and every due attempt, by `on`'s stores (its keys), logging as the service does. */
  const deliver = async (on: Instance) => {
    await createWebhookDispatcher({ stores: on.webhooks, lease, schedule: [0, 0] }).dispatch()
    await loopbackWorkers(on.webhooks, [0, 60_000], { onAttempt: reportAttempt(on.logger) }).drain()
  }
  return { app, instance, raw, create, deliver }
}

describe('webhook secrets at rest with WEBHOOK_SECRET_KEYS', () => {
  it('stores no whsec_ secret, and deliveries (after a secret rotation too) verify with both verifiers', async () => {
    const w = await world('seal_basic', [key1])
    const endpoint = await w.create(w.app, 'basic')
    const stored = await w.raw(endpoint.id)
    expect(JSON.stringify(stored)).not.toContain('whsec_')
    expect(JSON.stringify(stored)).not.toContain(endpoint.secret.slice('whsec_'.length))
    expect(stored.secrets[0]?.secret).toStartWith(`sealed:v1:${keyIdOf(key1)}:`)

    const [event] = await publishEvents(w.app.db, [{}])
    await w.deliver(w.app)
    const [received] = receiver.at(endpoint.path)
    if (!received) throw new Error('nothing was delivered')
    expect((await verifyBoth(endpoint.secret, received)).id).toBe(event?.id ?? '')

    const rotated = await w.app.api.v1.webhooks[':id']['rotate-secret'].$post({ param: { id: endpoint.id } })
    expect(rotated.status).toBe(200)
    const { secret } = (await rotated.json()) as { secret: string }
    const after = await w.raw(endpoint.id)
    expect(after.secrets).toHaveLength(2)
    expect(JSON.stringify(after)).not.toContain('whsec_')
    await publishEvents(w.app.db, [{}])
    await w.deliver(w.app)
    const last = receiver.at(endpoint.path).at(-1)
    if (!last) throw new Error('nothing was delivered')
    await verifyBoth(secret, last)
    await verifyBoth(endpoint.secret, last)
  })

  it('keeps using a plain secret stored before the key was set, and seals it at the next read, version unchanged', async () => {
    const w = await world('seal_plain', [])
    const endpoint = await w.create(w.app, 'plain')
    expect((await w.raw(endpoint.id)).secrets[0]?.secret).toBe(endpoint.secret)

    const keyed = await w.instance([key1])
    const read = await keyed.api.v1.webhooks[':id'].$get({ param: { id: endpoint.id } })
    expect(read.status).toBe(200)
    const stored = await w.raw(endpoint.id)
    expect(stored.secrets[0]?.secret).toStartWith(`sealed:v1:${keyIdOf(key1)}:`)
    expect(stored.version).toBe(1)
    expect(read.headers.get('etag')).toBe('"1"')

    await publishEvents(w.app.db, [{}])
    await w.deliver(keyed)
    const [received] = receiver.at(endpoint.path)
    if (!received) throw new Error('nothing was delivered')
    await verifyBoth(endpoint.secret, received)
  })

  it('answers a read whose sealing write fails (a primary stepping down): the secret opens, the next read seals', async () => {
    const w = await world('seal_write_fails', [])
    const endpoint = await w.create(w.app, 'write_fails')
    // The real database; every call after the first (the read) fails, as a write to a lost primary would.
    let calls = 0
    const failing: DatabaseHandle = {
      db: w.app.database.db,
      call: (operation) => (calls++ === 0 ? w.app.database.call(operation) : Promise.reject(new Error('not primary'))),
    }
    const keyed = createWebhookEndpoints(failing, createSecretSealer([key1]))
    expect((await keyed.get(endpoint.id))?.secrets[0]?.secret).toBe(endpoint.secret)
    calls = 0
    expect((await keyed.list()).find((found) => found.id === endpoint.id)?.secrets[0]?.secret).toBe(endpoint.secret)
    expect((await w.raw(endpoint.id)).secrets[0]?.secret).toBe(endpoint.secret)

    const working = createWebhookEndpoints(w.app.database, createSecretSealer([key1]))
    expect((await working.get(endpoint.id))?.secrets[0]?.secret).toBe(endpoint.secret)
    expect((await w.raw(endpoint.id)).secrets[0]?.secret).toStartWith(`sealed:v1:${keyIdOf(key1)}:`)
  })

  it('never writes a re-seal over a rotation that landed while it was in flight (the version guards it)', async () => {
    const w = await world('seal_race', [])
    const endpoint = await w.create(w.app, 'race')
    // The re-seal's write (the second call of a read) waits until the rotation is stored.
    let calls = 0
    let release: () => void = () => {}
    const held = new Promise<void>((resolve) => {
      release = resolve
    })
    let reached: () => void = () => {}
    const atWrite = new Promise<void>((resolve) => {
      reached = resolve
    })
    const holding: DatabaseHandle = {
      db: w.app.database.db,
      call: async (operation) => {
        if (calls++ === 1) {
          reached()
          await held
        }
        return w.app.database.call(operation)
      },
    }
    const read = createWebhookEndpoints(holding, createSecretSealer([key1])).get(endpoint.id)
    await atWrite
    const rotated = await w.app.api.v1.webhooks[':id']['rotate-secret'].$post({ param: { id: endpoint.id } })
    expect(rotated.status).toBe(200)
    const { secret } = (await rotated.json()) as { secret: string }
    release()
    expect((await read)?.secrets[0]?.secret).toBe(endpoint.secret)
    const stored = await w.raw(endpoint.id)
    expect(stored.version).toBe(2)
    expect(stored.secrets.map((entry) => entry.secret)).toEqual([secret, endpoint.secret])
  })

  it('rotates the key: the old one still opens, reads seal again under the new one, new writes use it', async () => {
    const w = await world('seal_rotate', [key1])
    const before = await w.create(w.app, 'before')
    // Every replica first learns the new key (second), then has it first.
    const rotating = await w.instance([key2, key1])
    expect((await rotating.api.v1.webhooks.$get()).status).toBe(200)
    expect((await w.raw(before.id)).secrets[0]?.secret).toStartWith(`sealed:v1:${keyIdOf(key2)}:`)
    expect((await w.raw(before.id)).version).toBe(1)
    const after = await w.create(rotating, 'after')
    expect((await w.raw(after.id)).secrets[0]?.secret).toStartWith(`sealed:v1:${keyIdOf(key2)}:`)

    // The old key removed: everything still opens and signs.
    const rotated = await w.instance([key2])
    await publishEvents(w.app.db, [{}])
    await w.deliver(rotated)
    for (const endpoint of [before, after]) {
      const [received] = receiver.at(endpoint.path)
      if (!received) throw new Error(`nothing was delivered to ${endpoint.path}`)
      await verifyBoth(endpoint.secret, received)
    }
  })

  it('does not open a sealed secret copied to another endpoint: that endpoint is not sent to', async () => {
    const w = await world('seal_copy', [key1])
    const source = await w.create(w.app, 'source')
    const target = await w.create(w.app, 'target')
    const copied = (await w.raw(source.id)).secrets
    await w.app.db.collection<{ _id: string }>('webhooks').updateOne({ _id: target.id }, { $set: { secrets: copied } })
    const sealer = createSecretSealer([key1])
    expect(sealer.open(copied[0]?.secret ?? '', source.id)).toBe(source.secret)
    expect(sealer.open(copied[0]?.secret ?? '', target.id)).toBeNull()

    await publishEvents(w.app.db, [{}])
    await w.deliver(w.app)
    expect(receiver.at(target.path)).toHaveLength(0)
    expect(receiver.at(source.path)).toHaveLength(1)
    const [delivery] = await w.app.db.collection('webhook_deliveries').find({ webhookId: target.id }).toArray()
    expect(delivery?.status).toBe('pending')
    expect(delivery?.recentAttempts[0]?.errorClass).toBe('secret_unopened')
  })

  it('with no key that opens the secret: logs why deliveries fail, reads answer 200, a rotation recovers', async () => {
    const w = await world('seal_wrong', [key1])
    const endpoint = await w.create(w.app, 'wrong')
    const sealed = (await w.raw(endpoint.id)).secrets[0]?.secret ?? ''
    for (const keys of [[key2], []]) {
      const other = await w.instance(keys)
      const read = await other.api.v1.webhooks[':id'].$get({ param: { id: endpoint.id } })
      expect(read.status).toBe(200)
      const text = JSON.stringify(await read.json())
      expect(text).not.toContain('sealed:')
      expect(text).not.toContain('whsec_')
      expect((await other.api.v1.webhooks.$get()).status).toBe(200)
      const patched = await other.api.v1.webhooks[':id'].$patch({ param: { id: endpoint.id }, json: { description: 'x' } })
      expect(patched.status).toBe(200)
      expect((await w.raw(endpoint.id)).secrets[0]?.secret).toBe(sealed)
    }

    const wrong = await w.instance([key2])
    await publishEvents(w.app.db, [{}])
    await w.deliver(wrong)
    expect(receiver.at(endpoint.path)).toHaveLength(0)
    const [delivery] = await w.app.db.collection('webhook_deliveries').find({ webhookId: endpoint.id }).toArray()
    expect(delivery?.status).toBe('pending')
    expect(delivery?.recentAttempts[0]?.errorClass).toBe('secret_unopened')
    const logged = wrong.logger.lines.filter((line) => line.level === 'error')
    expect(logged).toHaveLength(1)
    expect(logged[0]?.message).toContain('WEBHOOK_SECRET_KEYS')
    expect(logged[0]?.object).toMatchObject({ webhookId: endpoint.id, errorClass: 'secret_unopened' })
    const everything = JSON.stringify(wrong.logger.lines)
    for (const leak of ['whsec_', 'sealed:', endpoint.secret.slice(6), Buffer.from(key1).toString('base64')]) {
      expect(everything).not.toContain(leak)
    }

    // A new secret from the instance with the new key: the next attempt signs with it.
    const rotated = await wrong.api.v1.webhooks[':id']['rotate-secret'].$post({ param: { id: endpoint.id } })
    expect(rotated.status).toBe(200)
    const { secret } = (await rotated.json()) as { secret: string }
    expect((await w.raw(endpoint.id)).secrets[1]?.secret).toBe(sealed)
    const retry = await wrong.raw(`/v1/webhooks/${endpoint.id}/deliveries/${delivery?._id}/retry`, { method: 'POST' })
    expect(retry.status).toBe(202)
    await w.deliver(wrong)
    const [received] = receiver.at(endpoint.path)
    if (!received) throw new Error('nothing was delivered after the rotation')
    await verifyBoth(secret, received)
  })
})

describe('the secret sealer (pure)', () => {
  it('seals with a fresh IV each time and opens only for the same endpoint, intact', () => {
    const sealer = createSecretSealer([key1])
    const secret = `whsec_${Buffer.alloc(32, 9).toString('base64')}`
    const a = sealer.seal(secret, 'wh_a')
    expect(a).not.toBe(sealer.seal(secret, 'wh_a'))
    expect(sealer.open(a, 'wh_a')).toBe(secret)
    expect(sealer.open(a, 'wh_b')).toBeNull()
    const tampered = `${a.slice(0, -2)}${a.at(-2) === 'A' ? 'B' : 'A'}${a.at(-1)}`
    expect(sealer.open(tampered, 'wh_a')).toBeNull()
    expect(sealer.open('sealed:v1:nonsense', 'wh_a')).toBeNull()
    expect(sealer.stale(a)).toBe(false)
    expect(sealer.stale(secret)).toBe(true)
    expect(createSecretSealer([key2, key1]).stale(a)).toBe(true)
    expect(createSecretSealer([key2, key1]).open(a, 'wh_a')).toBe(secret)
  })

  it('without keys: stores as given, opens plain secrets only, never finds one stale', () => {
    const none = createSecretSealer([])
    expect(none.seal('whsec_x', 'wh_a')).toBe('whsec_x')
    expect(none.open('whsec_x', 'wh_a')).toBe('whsec_x')
    expect(none.open(createSecretSealer([key1]).seal('whsec_x', 'wh_a'), 'wh_a')).toBeNull()
    expect(none.stale('whsec_x')).toBe(false)
  })
})
