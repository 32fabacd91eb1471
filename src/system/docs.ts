import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { SwaggerUI } from '@hono/swagger-ui'
import { createRoute, z } from '@hono/zod-openapi'
import type { Handler } from '../http/handler'
import { problemResponses } from '../http/problem'
import { createRouter } from '../http/router'
import { VERSION } from '../version'

const tags = ['operations']
const ASSETS = { 'swagger-ui.css': 'text/css; charset=utf-8', 'swagger-ui-bundle.js': 'text/javascript; charset=utf-8' } as const
type AssetName = keyof typeof ASSETS

const openApiDocument = createRoute({
  method: 'get',
  path: '/openapi.json',
  tags,
  operationId: 'openapi',
  summary: 'This OpenAPI 3.1 document',
  responses: {
    200: {
      description: 'The document (identical to the committed openapi.json).',
      content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } },
    },
    ...problemResponses('internal_error'),
  },
})

const docsPage = createRoute({
  method: 'get',
  path: '/docs',
  tags,
  operationId: 'docs',
  summary: 'Interactive API reference (Swagger UI, served locally)',
  responses: {
    200: { description: 'An HTML page.', content: { 'text/html': { schema: z.string() } } },
    ...problemResponses('internal_error'),
  },
})

/** What `GET /` answers: where to go from here. */
const ServiceIndexSchema = z
  .object({
    service: z.literal('users-service'),
    version: z.string().openapi({ example: '0.1.0' }),
    links: z.object({
      docs: z.literal('/docs'),
      openapi: z.literal('/openapi.json'),
      health: z.literal('/healthz'),
      readiness: z.literal('/readyz'),
      users: z.literal('/v1/users'),
    }),
  })
  .openapi('ServiceIndex')

const serviceIndex = createRoute({
  method: 'get',
  path: '/',
  tags,
  operationId: 'serviceIndex',
  summary: 'Where to go from here: the API reference, this document, health',
  description: 'JSON, so curl and browsers alike can follow the links; the API reference is at /docs.',
  responses: {
    200: { description: 'Links.', content: { 'application/json': { schema: ServiceIndexSchema } } },
    ...problemResponses('internal_error'),
  },
})

// Hidden from the document: an implementation detail of /docs.
const docsAsset = createRoute({
  method: 'get',
  path: '/docs/assets/swagger-ui-dist/{file}',
  hide: true,
  request: { params: z.object({ file: z.enum(Object.keys(ASSETS) as [AssetName, ...AssetName[]]) }) },
  responses: { 200: { description: 'A static asset.' } },
})

/** Swagger UI's files come from the installed swagger-ui-dist package: the page works offline. */
const assetsDir = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'))
async function readAsset(name: AssetName): Promise<ArrayBuffer> {
  const file = await readFile(join(assetsDir, name))
  return file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength) as ArrayBuffer
}

const page = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>users-service API</title>
  </head>
  <body>
    ${SwaggerUI({ url: '/openapi.json', baseUrl: '/docs/assets' })}
  </body>
</html>`

export function createDocsRouter({ document }: { document: () => object }) {
  // Read once per app, on first request: 1.5 MB that most processes never serve.
  const assets = new Map<AssetName, Promise<ArrayBuffer>>()
  const asset = (name: AssetName) => {
    const cached = assets.get(name) ?? readAsset(name)
    assets.set(name, cached)
    return cached
  }
  const index = {
    service: 'users-service',
    version: VERSION,
    links: { docs: '/docs', openapi: '/openapi.json', health: '/healthz', readiness: '/readyz', users: '/v1/users' },
  } as const
  // Typed as a Handler: its 200 has no declared content, where zod-openapi's own type accepts any Response.
  const serveAsset: Handler<typeof docsAsset> = async (c) => {
    const { file } = c.req.valid('param')
    return c.body(await asset(file), 200, {
      'Content-Type': ASSETS[file],
      'Cache-Control': 'public, max-age=86400',
    })
  }
  return createRouter()
    .openapi(serviceIndex, (c) => c.json(index, 200))
    .openapi(openApiDocument, (c) => c.json(document(), 200))
    .openapi(docsPage, (c) => c.html(page, 200))
    .openapi(docsAsset, serveAsset)
}
