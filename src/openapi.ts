import type { OpenAPIHono } from '@hono/zod-openapi'
import pkg from '../package.json' with { type: 'json' }

/** The document's fixed parts; paths and components come from the routes. */
function openApiConfig() {
  return {
    openapi: '3.1.0',
    info: {
      title: 'users-service',
      version: pkg.version,
      description:
        'User records: create, read by id, username or email, list with filters and keyset pagination, ' +
        'update with JSON merge patch and ETags, delete. Every error is RFC 9457 problem+json.',
    },
    servers: [{ url: '/', description: 'This server' }],
    // No authentication yet: an explicit empty requirement says so.
    security: [],
    tags: [
      { name: 'users', description: 'User records.' },
      { name: 'auth', description: 'Credential checks.' },
      { name: 'webhooks', description: 'Signed webhook endpoints for change events (Standard Webhooks), and their deliveries.' },
      { name: 'operations', description: 'Health, readiness and this document.' },
      {
        name: 'scim',
        description:
          'SCIM 2.0 (RFC 7643/7644) for identity providers such as Entra ID and Okta: application/scim+json, SCIM Error bodies, the scope scim.',
      },
      {
        name: 'legacy',
        description:
          "Deprecated: the Flask service's routes, for its clients while they move to /v1. Off unless LEGACY_ROUTES=true.",
      },
    ],
  }
}

/** Generates the OpenAPI 3.1 document of an app built by createApp. */
export function generateOpenApi(app: Pick<OpenAPIHono, 'getOpenAPI31Document'>) {
  return app.getOpenAPI31Document(openApiConfig())
}
