import { describe, expect, it } from 'bun:test'
import { DELIVERY_ID_PATTERN, newEventId } from '../src/events/events.ids'
import { deliveryIdFor } from '../src/webhooks/webhooks.ids'
import { BREAKER_THRESHOLD, createPacing } from '../src/webhooks/webhooks.pacing'

describe('createPacing (one instance sharing its workers among endpoints)', () => {
  const clock = () => new Date(now)
  let now = Date.parse('2026-11-30T08:00:00.000Z')

  it('excludes an endpoint at its in-flight limit until one of its attempts finishes', () => {
    const pacing = createPacing({ perEndpoint: 2, clock })
    pacing.started('wh_a')
    expect(pacing.excluded()).toEqual([])
    pacing.started('wh_a')
    pacing.started('wh_b')
    expect(pacing.excluded()).toEqual(['wh_a'])
    pacing.finished('wh_a')
    expect(pacing.excluded()).toEqual([])
  })

  it(`pauses an endpoint after ${BREAKER_THRESHOLD} failures in a row, doubling the pause, until an attempt succeeds`, () => {
    const pacing = createPacing({ perEndpoint: 2, clock })
    for (let i = 1; i < BREAKER_THRESHOLD; i++) expect(pacing.record('wh_dead', false)).toBeUndefined()
    expect(pacing.excluded()).toEqual([])
    expect(pacing.record('wh_dead', false)?.getTime()).toBe(now + 1000)
    expect(pacing.excluded()).toEqual(['wh_dead'])
    now += 1000
    expect(pacing.excluded()).toEqual([])
    expect(pacing.record('wh_dead', false)?.getTime()).toBe(now + 2000)
    for (let i = 0; i < 20; i++) pacing.record('wh_dead', false)
    expect(pacing.record('wh_dead', false)?.getTime()).toBe(now + 60_000)
    expect(pacing.record('wh_dead', true)).toBeUndefined()
    expect(pacing.excluded()).toEqual([])
    expect(pacing.record('wh_dead', false)).toBeUndefined()
  })

  it('counts only failures in a row: a success in between starts again', () => {
    const pacing = createPacing({ perEndpoint: 2, clock })
    for (let round = 0; round < 5; round++) {
      for (let i = 1; i < BREAKER_THRESHOLD; i++) pacing.record('wh_flaky', false)
      pacing.record('wh_flaky', true)
    }
    expect(pacing.excluded()).toEqual([])
  })
})

describe('deliveryIdFor', () => {
  it('names one endpoint and event the same every time, as a delivery id with the time of the event', () => {
    const event = newEventId(new Date('2026-11-30T08:00:00.000Z'))
    const id = deliveryIdFor('wh_01JD8Z3N5W7QK2XH9V4T6RBM0C', event)
    expect(id).toMatch(DELIVERY_ID_PATTERN)
    expect(deliveryIdFor('wh_01JD8Z3N5W7QK2XH9V4T6RBM0C', event)).toBe(id)
    expect(id.slice(4, 14)).toBe(event.slice(4, 14))
    expect(deliveryIdFor('wh_01JD8Z3N5W7QK2XH9V4T6RBM0D', event)).not.toBe(id)
    expect(deliveryIdFor('wh_01JD8Z3N5W7QK2XH9V4T6RBM0C', newEventId(new Date()))).not.toBe(id)
  })
})
