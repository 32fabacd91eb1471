import { describe, expect, it } from 'bun:test'
import { readFile } from 'node:fs/promises'
import pkg from '../package.json' with { type: 'json' }
import { generateOpenApi } from '../src/openapi'
import { useTestApp } from './helpers/context'

const t = await useTestApp({ name: 'system' })
const committed = await readFile(new URL('../openapi.json', import.meta.url), 'utf8')

describe('health', () => {
  it('GET /healthz answers 200 ok, with the version running', async () => {
    const res = await t.api.healthz.$get()
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ status: 'ok', version: pkg.version })
  })

  it('GET /readyz answers 200 when MongoDB answers a ping', async () => {
    const res = await t.api.readyz.$get()
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ status: 'ok' })
  })
})

describe('GET /', () => {
  it('answers where to go from here: the reference, the document, health, the API', async () => {
    const res = await t.api.index.$get()
    expect(res.status).toBe(200)
    if (!res.ok) return
    const body = await res.json()
    expect(body).toEqual({
      service: 'users-service',
      version: pkg.version,
      links: { docs: '/docs', openapi: '/openapi.json', health: '/healthz', readiness: '/readyz', users: '/v1/users' },
    })
    for (const path of [body.links.docs, body.links.openapi, body.links.health]) expect((await t.raw(path)).status).toBe(200)
  })

  it('sends no version header: versions are for /healthz and /metrics, not every answer', async () => {
    const res = await t.raw('/v1/users')
    for (const name of res.headers.keys()) expect(name).not.toMatch(/version|powered|server/i)
  })
})

describe('OpenAPI document', () => {
  it('matches the committed openapi.json exactly (run `bun run openapi` after changing a route)', () => {
    expect(`${JSON.stringify(generateOpenApi(t.app), null, 2)}\n`).toBe(committed)
  })

  it('is served at /openapi.json', async () => {
    const res = await t.api['openapi.json'].$get()
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual(JSON.parse(committed))
  })

  it('names every error code of the contract', () => {
    const document = JSON.parse(committed)
    const codes: string[] = document.components.schemas.Problem.properties.code.enum
    for (const code of [
      'validation_failed',
      'malformed_json',
      'unsupported_media_type',
      'payload_too_large',
      'unauthorized',
      'forbidden',
      'user_not_found',
      'username_taken',
      'email_taken',
      'precondition_failed',
      'idempotency_key_reused',
      'idempotency_key_in_use',
      'rate_limited',
      'service_unavailable',
      'internal_error',
    ]) {
      expect(codes).toContain(code)
    }
  })

  it('declares 400, 500 and 503 problem responses on every /v1 operation', () => {
    const document = JSON.parse(committed)
    for (const [path, item] of Object.entries<Record<string, { responses: Record<string, { content?: object }> }>>(
      document.paths,
    )) {
      if (!path.startsWith('/v1/')) continue
      for (const operation of Object.values(item)) {
        for (const status of ['400', '500', '503']) {
          expect(operation.responses[status]?.content).toHaveProperty(['application/problem+json'])
        }
      }
    }
  })
})

describe('GET /docs', () => {
  it('serves an API reference page whose assets are local', async () => {
    const res = await t.api.docs.$get()
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toStartWith('text/html')
    const html = await res.text()
    expect(html).toContain('/openapi.json')
    expect(html).not.toMatch(/https?:\/\//)
    const scripts = [...html.matchAll(/<script src="([^"]+)"/g)].map((m) => m[1]!)
    const styles = [...html.matchAll(/<link rel="stylesheet" href="([^"]+)"/g)].map((m) => m[1]!)
    expect(scripts).toEqual(['/docs/assets/swagger-ui-dist/swagger-ui-bundle.js'])
    expect(styles).toEqual(['/docs/assets/swagger-ui-dist/swagger-ui.css'])

    const script = await t.raw(scripts[0]!)
    expect(script.status).toBe(200)
    expect(script.headers.get('content-type')).toStartWith('text/javascript')
    const source = await script.text()
    expect(source.length).toBeGreaterThan(500_000)
    expect(source).toContain('SwaggerUIBundle')

    const style = await t.raw(styles[0]!)
    expect(style.status).toBe(200)
    expect(style.headers.get('content-type')).toStartWith('text/css')
  })

  it('serves nothing else from the assets folder', async () => {
    expect((await t.raw('/docs/assets/swagger-ui-dist/package.json')).status).toBe(400)
    expect((await t.raw('/docs/assets/swagger-ui-dist/..%2F..%2Fpackage.json')).status).toBe(400)
  })
})
