import type { HostileCase } from './corpus.builders'
import { encodingAndSize } from './corpus.encoding'
import { fields } from './corpus.fields'
import { injection } from './corpus.injection'
import { legacy } from './corpus.legacy'
import { lifecycle } from './corpus.lifecycle'
import { protocol } from './corpus.protocol'
import { verifyAddress } from './corpus.verify'

export type { HostileCase } from './corpus.builders'

/**
 * The hostile-input corpus (tests/hostile.test.ts runs it): requests an attacker or a broken client
 * might send, each with the refusal it must get; see corpus.builders.ts for the shape.
 */
export const corpus: HostileCase[] = [
  ...injection,
  ...encodingAndSize,
  ...protocol,
  ...legacy,
  ...verifyAddress,
  ...lifecycle,
  ...fields,
]
