/**
 * SCIM error responses (RFC 7644 §3.12): the body every `/scim/v2` failure carries, and the typed
 * error the SCIM modules throw. Pure: no HTTP framework here; the SCIM surface turns a `ScimError`
 * into a response with `scimErrorBody` and the `application/scim+json` media type.
 */

/** The media type of every SCIM request and response body (RFC 7644 §3.1). */
export const SCIM_MEDIA_TYPE = 'application/scim+json'
export const SCIM_ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error'

/**
 * The `scimType` values RFC 7644 §3.12 (table 9) defines, with the status each goes with.
 * `sensitive` is 403; `uniqueness` 409; the rest are 400.
 */
export const SCIM_TYPE_STATUS = {
  invalidFilter: 400,
  tooMany: 400,
  uniqueness: 409,
  mutability: 400,
  invalidSyntax: 400,
  invalidPath: 400,
  noTarget: 400,
  invalidValue: 400,
  invalidVers: 400,
  sensitive: 403,
} as const satisfies Record<string, number>

export type ScimType = keyof typeof SCIM_TYPE_STATUS
export const SCIM_TYPES = Object.keys(SCIM_TYPE_STATUS) as ScimType[]

/** The SCIM `Error` message. `status` is a string, as the RFC's schema says (its examples agree). */
export type ScimErrorBody = {
  schemas: [typeof SCIM_ERROR_SCHEMA]
  status: string
  scimType?: ScimType
  detail?: string
}

/** The body of a SCIM error answer; `scimType` only where the RFC assigns one (400s, 409, 403). */
export function scimErrorBody(status: number, detail?: string, scimType?: ScimType): ScimErrorBody {
  if (!Number.isInteger(status) || status < 400 || status > 599) throw new RangeError(`not an error status: ${status}`)
  return {
    schemas: [SCIM_ERROR_SCHEMA],
    status: String(status),
    ...(scimType ? { scimType } : {}),
    ...(detail ? { detail } : {}),
  }
}

/**
 * A SCIM request the service refuses, with the RFC's `scimType`. Thrown by the filter and PATCH
 * modules; `detail` is shown to the caller, so it names attributes, operators and positions but
 * never echoes a value the caller sent (values can be personal data or secrets).
 */
export class ScimError extends Error {
  readonly status: number

  constructor(
    readonly scimType: ScimType,
    readonly detail: string,
  ) {
    super(detail)
    this.name = 'ScimError'
    this.status = SCIM_TYPE_STATUS[scimType]
  }

  /** The SCIM `Error` body for this error. */
  toBody(): ScimErrorBody {
    return scimErrorBody(this.status, this.detail, this.scimType)
  }
}
