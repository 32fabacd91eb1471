import { InvalidInputError, type PreconditionFailed, UnavailableError, unmatched, type VersionMatch } from '../errors'
import { newWebhookId } from '../events/events.ids'
import { decodeDeliveriesCursor, encodeDeliveriesCursor } from './webhooks.cursor'
import type {
  DeliveryStatus,
  EndpointChanges,
  EventSource,
  StoredEndpoint,
  WebhookDeliveries,
  WebhookEndpoints,
} from './webhooks.model'
import { MAX_WEBHOOK_ENDPOINTS } from './webhooks.model'
import type { CreateWebhookInput, Delivery, UpdateWebhookInput, Webhook } from './webhooks.schemas'
import { generateWebhookSecret, rotateSecrets } from './webhooks.signing'
import { checkWebhookTarget } from './webhooks.target'
import { toDelivery, toWebhook } from './webhooks.view'

/**
 * Every rule about managing webhook endpoints (API.md, "Change events"): the target policy, the
 * cap, secrets shown once, rotation with 24 h of overlap, what enabling and disabling do, the
 * deliveries log and manual retries. Handlers translate HTTP to these calls and the outcomes back.
 */

export type WebhookNotFound = { kind: 'webhook_not_found'; id: string }
export type DeliveryNotFound = { kind: 'delivery_not_found'; id: string }
export type WebhookLimitReached = { kind: 'limit_reached'; max: number }
export type WebhookDisabled = { kind: 'webhook_disabled'; id: string }

export type WebhooksServiceDeps = {
  endpoints: WebhookEndpoints
  deliveries: WebhookDeliveries
  events: Pick<EventSource, 'visibleThrough'>
  /** WEBHOOK_ALLOW_PRIVATE_TARGETS. */
  allowPrivateTargets: boolean
  clock?: () => Date
  /** Makes signing secrets; tests may pass their own. */
  newSecret?: () => string
}

/**
 * Guarded writes lost to concurrent changes of one endpoint before answering 503. Each round one
 * writer wins, so N concurrent writers finish within N rounds: at 5, six at once (two
 * administrators and a script) already got 503s. As the users service's bound.
 */
const MAX_RACES = 50

type Context = Required<WebhooksServiceDeps>

export function createWebhooksService(deps: WebhooksServiceDeps) {
  const ctx: Context = { clock: () => new Date(), newSecret: generateWebhookSecret, ...deps }
  const { endpoints, deliveries, clock } = ctx
  return {
    create: (input: CreateWebhookInput) => create(ctx, input),

    async list(): Promise<Webhook[]> {
      const now = clock()
      return (await endpoints.list()).map((endpoint) => toWebhook(endpoint, now))
    },

    async get(id: string) {
      const endpoint = await endpoints.get(id)
      if (!endpoint) return notFound(id)
      return { kind: 'found' as const, webhook: toWebhook(endpoint, clock()), version: endpoint.version }
    },

    async update(id: string, patch: UpdateWebhookInput, ifMatch?: VersionMatch) {
      const url = patch.url === undefined ? undefined : targetOf(ctx, patch.url)
      return change(ctx, id, ifMatch, async (current, now) => {
        const changes = await changesOf(ctx, current, { ...patch, url })
        if (!changes) return { kind: 'updated' as const, webhook: toWebhook(current, now), version: current.version }
        const updated = await endpoints.update(id, current.version, changes, now)
        if (!updated) return 'raced'
        // Disabled: what was waiting will not be sent (a manual retry after enabling sends it).
        if (current.enabled && !updated.enabled) await deliveries.failPending(id, now)
        return { kind: 'updated' as const, webhook: toWebhook(updated, now), version: updated.version }
      })
    },

    async remove(id: string, ifMatch?: VersionMatch) {
      return change(ctx, id, ifMatch, async (current) => {
        if (!(await endpoints.delete(id, current.version))) return 'raced'
        await deliveries.deleteFor(id)
        return { kind: 'deleted' as const }
      })
    },

    async rotateSecret(id: string, ifMatch?: VersionMatch) {
      const secret = ctx.newSecret()
      return change(ctx, id, ifMatch, async (current, now) => {
        const secrets = rotateSecrets(current.secrets, secret, now)
        const updated = await endpoints.update(id, current.version, { set: { secrets }, unset: [] }, now)
        if (!updated) return 'raced'
        const expiresAt = secrets[1]?.expiresAt ?? now
        return { kind: 'rotated' as const, secret, previousSecretExpiresAt: expiresAt.toISOString(), version: updated.version }
      })
    },

    listDeliveries: (id: string, query: DeliveriesQuery) => listDeliveries(ctx, id, query),

    async retryDelivery(id: string, deliveryId: string) {
      const endpoint = await endpoints.get(id)
      if (!endpoint) return notFound(id)
      if (!endpoint.enabled) return { kind: 'webhook_disabled', id } satisfies WebhookDisabled
      const delivery = await deliveries.retryNow(id, deliveryId, clock())
      if (!delivery) return { kind: 'delivery_not_found', id: deliveryId } satisfies DeliveryNotFound
      return { kind: 'queued' as const, delivery: toDelivery(delivery) }
    },
  }
}

const notFound = (id: string): WebhookNotFound => ({ kind: 'webhook_not_found', id })

/** The URL under the configured policy, as it will be stored; 400 at /url otherwise. */
function targetOf(ctx: Context, url: string): string {
  const checked = checkWebhookTarget(url, { allowPrivateTargets: ctx.allowPrivateTargets })
  if (checked.ok) return checked.url.href
  throw new InvalidInputError(`The webhook URL is refused: it ${checked.message}.`, [
    { field: 'url', code: checked.reason, message: checked.message },
  ])
}

/**
 * Reads, changes and writes one endpoint at the version read, again if another write came first;
 * with If-Match, only while the version read is one it names (checked again on each round).
 */
async function change<T>(
  ctx: Context,
  id: string,
  ifMatch: VersionMatch | undefined,
  write: (current: StoredEndpoint, now: Date) => Promise<T | 'raced'>,
): Promise<T | WebhookNotFound | PreconditionFailed> {
  for (let attempt = 0; attempt < MAX_RACES; attempt++) {
    const current = await ctx.endpoints.get(id)
    if (!current) return notFound(id)
    const refused = unmatched(ifMatch, current.version)
    if (refused) return refused
    const result = await write(current, ctx.clock())
    if (result !== 'raced') return result
  }
  throw new UnavailableError('The webhook is being changed by many requests at once; retry shortly.', 1)
}

async function create(ctx: Context, input: CreateWebhookInput) {
  const url = targetOf(ctx, input.url)
  const now = ctx.clock()
  const secret = ctx.newSecret()
  const endpoint: StoredEndpoint = {
    id: newWebhookId(now),
    url,
    ...(input.types ? { types: input.types } : {}),
    ...(input.description !== undefined ? { description: input.description } : {}),
    enabled: input.enabled,
    secrets: [{ secret, createdAt: now }],
    // From the feed's position now: a new endpoint gets what happens from now on.
    startAfterSequence: await ctx.events.visibleThrough(),
    ...(input.enabled ? { catchUp: true } : {}),
    version: 1,
    createdAt: now,
    updatedAt: now,
  }
  if ((await ctx.endpoints.insert(endpoint)) === 'limit_reached') {
    return { kind: 'limit_reached', max: MAX_WEBHOOK_ENDPOINTS } satisfies WebhookLimitReached
  }
  // The repository stores a new endpoint at version 1 (webhooks.repository.ts).
  return { kind: 'created' as const, webhook: toWebhook(endpoint, now), secret, version: 1 }
}

type DeliveriesQuery = { status?: DeliveryStatus; limit: number; cursor?: string }

async function listDeliveries(ctx: Context, id: string, query: DeliveriesQuery) {
  const list = { webhookId: id, status: query.status }
  const before = query.cursor === undefined ? undefined : decodeDeliveriesCursor(list, query.cursor)
  if (!(await ctx.endpoints.get(id))) return notFound(id)
  const page = await ctx.deliveries.page(id, {
    ...(query.status ? { status: query.status } : {}),
    limit: query.limit + 1,
    ...(before ? { before } : {}),
  })
  const items: Delivery[] = page.slice(0, query.limit).map(toDelivery)
  const last = items.at(-1)
  const nextCursor = page.length > query.limit && last ? encodeDeliveriesCursor(list, last.id) : null
  return { kind: 'page' as const, items, nextCursor }
}

/** The write a merge patch needs, or null when it changes nothing. */
async function changesOf(
  ctx: Context,
  current: StoredEndpoint,
  patch: Omit<UpdateWebhookInput, 'url'> & { url?: string | undefined },
): Promise<EndpointChanges | null> {
  const changes: EndpointChanges = { set: {}, unset: [] }
  if (patch.url !== undefined && patch.url !== current.url) changes.set.url = patch.url
  if (patch.types === null && current.types) changes.unset.push('types')
  if (patch.types && !sameTypes(patch.types, current.types)) changes.set.types = patch.types
  if (patch.description === null && current.description !== undefined) changes.unset.push('description')
  if (typeof patch.description === 'string' && patch.description !== current.description) {
    changes.set.description = patch.description
  }
  if (patch.enabled === true && !current.enabled) {
    // Enabled again: from the feed's position now, as a new endpoint (nothing from while it was off).
    Object.assign(changes.set, { enabled: true, startAfterSequence: await ctx.events.visibleThrough(), catchUp: true })
    if (current.disabledReason) changes.unset.push('disabledReason')
  }
  if (patch.enabled === false && current.enabled) changes.set.enabled = false
  return Object.keys(changes.set).length > 0 || changes.unset.length > 0 ? changes : null
}

function sameTypes(next: readonly string[], current: readonly string[] | undefined): boolean {
  return current !== undefined && next.length === current.length && next.every((type) => current.includes(type))
}

export type WebhooksService = ReturnType<typeof createWebhooksService>
