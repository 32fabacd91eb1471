import { describe, expect, it } from 'bun:test'
import { SCIM_TYPE_STATUS, SCIM_TYPES, ScimError, scimErrorBody } from '../src/scim/scim.errors'

describe('SCIM Error bodies (RFC 7644 §3.12)', () => {
  it('carries the Error schema, the status as a string, the scimType and the detail', () => {
    expect(scimErrorBody(400, 'The filter is empty.', 'invalidFilter')).toEqual({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
      status: '400',
      scimType: 'invalidFilter',
      detail: 'The filter is empty.',
    })
    expect(scimErrorBody(404)).toEqual({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '404' })
    expect(() => scimErrorBody(200)).toThrow(RangeError)
  })

  it('lists the ten scimTypes of table 9 with their statuses', () => {
    expect(SCIM_TYPES).toEqual([
      'invalidFilter',
      'tooMany',
      'uniqueness',
      'mutability',
      'invalidSyntax',
      'invalidPath',
      'noTarget',
      'invalidValue',
      'invalidVers',
      'sensitive',
    ])
    expect(SCIM_TYPE_STATUS.uniqueness).toBe(409)
    expect(SCIM_TYPE_STATUS.sensitive).toBe(403)
    expect(new ScimError('noTarget', 'No email matches.').toBody()).toEqual({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
      status: '400',
      scimType: 'noTarget',
      detail: 'No email matches.',
    })
  })
})
