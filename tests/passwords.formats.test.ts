import { describe, expect, it } from 'bun:test'
import { base64Pattern, formatOf, HASH_BOUNDS, PASSWORD_HASH_PATTERN, whyRefused } from '../src/users/passwords.formats'
import reference from './fixtures/reference-hashes.json'

/**
 * The import's hash formats (passwords.formats.ts): every reference hash is recognised, the
 * bounds hold exactly where documented, and the document's single pattern agrees with the check.
 */
const documented = new RegExp(`^(?:${PASSWORD_HASH_PATTERN})$`)
const accepted = (hash: string) => {
  const byCheck = formatOf(hash) !== null
  // The document's pattern must say the same about every string the check judges.
  expect(documented.test(hash)).toBe(byCheck)
  return byCheck
}

const SALT22 = 'ld0YQ38xJ/KN0GUyQuVYVu'
const BCRYPT_REST = `${SALT22}lxpFlXBQlTChR5ZjLGQDWOf7hBq9tHS`
const PASSLIB = '0RrDuDeG0LqXMkaoFQIAgA$N/rfIlJH/DizsvvR91qDookjt8fHe8HkpUc7Pqchc7g'
const DJANGO = 'kyuoVbeby4LTrrTUra2UtJ$WQBXGnhMWpsRdDmIv3gIdMh305Wl2vX9gCYzTEr1uGw='
const ARGON2_TAIL = '8V6L8Z4zJmTM2bs3BiDE+A$0r03K2m07B8b5xTHDFx/InQ4Jhr6TCj91spcQRTlefs'
const argon2 = (m: number | string, t: number | string, p: number | string, variant = 'argon2id') =>
  `$${variant}$v=19$m=${m},t=${t},p=${p}$${ARGON2_TAIL}`

describe('accepted password hash formats', () => {
  it.each(reference.hashes.map((entry) => [entry.name, entry.hash] as const))('accepts the reference hash: %s', (_, hash) => {
    expect(accepted(hash)).toBe(true)
  })

  it('bounds bcrypt cost to 4-15', () => {
    const costs = Array.from({ length: 100 }, (_, cost) => cost).filter((cost) =>
      accepted(`$2b$${String(cost).padStart(2, '0')}$${BCRYPT_REST}`),
    )
    expect(costs).toEqual(Array.from({ length: 12 }, (_, i) => i + HASH_BOUNDS.bcryptCost.min))
    expect(whyRefused(`$2b$16$${BCRYPT_REST}`)).toBe('bcrypt cost must be 4-15')
  })

  it('bounds PBKDF2 iterations to 1,000-10,000,000, for passlib and Django alike', () => {
    const values = [0, 1, 999, 1000, 1001, 29000, 1_000_000, 9_999_999, 10_000_000, 10_000_001, 99_999_999]
    const ok = (n: number) => n >= 1000 && n <= 10_000_000
    for (const n of values) {
      expect(accepted(`$pbkdf2-sha256$${n}$${PASSLIB}`)).toBe(ok(n))
      expect(accepted(`pbkdf2_sha256$${n}$${DJANGO}`)).toBe(ok(n))
    }
    expect(accepted(`pbkdf2_sha256$01000$${DJANGO}`)).toBe(false)
    expect(whyRefused(`pbkdf2_sha256$10000001$${DJANGO}`)).toBe('PBKDF2 iterations must be 1,000-10,000,000')
  })

  it('bounds argon2 memory to 1,024-131,072 KiB, every value checked', () => {
    const { min, max } = HASH_BOUNDS.argon2MemoryKiB
    const pattern = /^\$argon2id\$v=19\$m=([0-9]+),/
    for (let m = 0; m <= 300_000; m++) {
      const hash = argon2(m, 2, 1)
      // The whole range through the document's pattern would take minutes; the check and the pattern share this part.
      if (m % 997 === 0 || Math.abs(m - min) < 3 || Math.abs(m - max) < 3) expect(accepted(hash)).toBe(m >= min && m <= max)
      else expect(pattern.test(hash) && formatOf(hash) !== null).toBe(m >= min && m <= max)
    }
  })

  it('bounds argon2 passes to 1-10 and lanes to 1-16, and takes argon2i', () => {
    expect([0, 1, 10, 11].map((t) => accepted(argon2(65536, t, 1)))).toEqual([false, true, true, false])
    expect([0, 1, 16, 17].map((p) => accepted(argon2(65536, 2, p)))).toEqual([false, true, true, false])
    expect(accepted(argon2(65536, 2, 1, 'argon2i'))).toBe(true)
    expect(whyRefused(argon2(262144, 2, 1))).toStartWith('argon2 parameters must be m=1024-131072')
  })

  it.each([
    ['argon2d', argon2(65536, 2, 1, 'argon2d')],
    ['argon2 version 16', argon2(65536, 2, 1).replace('v=19', 'v=16')],
    ['argon2 without a version', argon2(65536, 2, 1).replace('v=19$', '')],
    ['argon2 parameters out of order', `$argon2id$v=19$t=2,m=65536,p=1$${ARGON2_TAIL}`],
    ['argon2 with keyid', argon2(65536, 2, 1).replace('p=1$', 'p=1,keyid=AAAA$')],
    ['argon2 salt of 4 bytes', '$argon2id$v=19$m=65536,t=2,p=1$AAAAAA$0r03K2m07B8b5xTHDFx/InQ4Jhr6TCj91spcQRTlefs'],
    ['argon2 non-canonical base64', argon2(65536, 2, 1).replace('Tlefs', 'Tlefz')],
    ['bcrypt $2x$', `$2x$10$${BCRYPT_REST}`],
    ['bcrypt $2$', `$2$10$${BCRYPT_REST}`],
    ['bcrypt one character short', `$2b$10$${BCRYPT_REST.slice(1)}`],
    ['bcrypt non-canonical salt', `$2b$10$${SALT22.slice(0, 21)}v${BCRYPT_REST.slice(22)}`],
    ['bcrypt cost of one digit', `$2b$4$${BCRYPT_REST}`],
    ['passlib pbkdf2-sha1', `$pbkdf2$29000$${PASSLIB}`],
    ['passlib pbkdf2-sha512', `$pbkdf2-sha512$29000$${PASSLIB}`],
    ['passlib checksum in standard base64', `$pbkdf2-sha256$29000$${PASSLIB.replace('N/rf', 'N+rf')}`],
    ['Django pbkdf2_sha1', `pbkdf2_sha1$29000$${DJANGO}`],
    ['Django argon2', `argon2$argon2id$v=19$m=102400,t=2,p=8$${ARGON2_TAIL}`],
    ['Django without padding', `pbkdf2_sha256$29000$${DJANGO.slice(0, -1)}`],
    ['Django with an empty salt', `pbkdf2_sha256$29000$$${DJANGO.split('$')[1]}`],
    ['Django with a $ in the salt', `pbkdf2_sha256$29000$a$b$${DJANGO.split('$')[1]}`],
    ['Django with a space in the salt', `pbkdf2_sha256$29000$a b$${DJANGO.split('$')[1]}`],
    ['a trailing newline', `$2b$10$${BCRYPT_REST}\n`],
    ['a leading space', ` $2b$10$${BCRYPT_REST}`],
    ['MD5 crypt', '$1$saltsalt$qjXMvbEw8oaL.CzflDugX/'],
    ['SHA-512 crypt', '$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/'],
    ['plain text', 'correct horse battery staple'],
    ['empty', ''],
    ['a huge string', `$2b$10$${'a'.repeat(100_000)}`],
  ])('refuses %s', (_, hash) => {
    expect(accepted(hash)).toBe(false)
    // The reason never quotes the value: it is a credential.
    if (hash.length > 0) expect(whyRefused(hash)).not.toContain(hash)
  })
})

describe('base64Pattern', () => {
  it('matches exactly the canonical unpadded encodings of min to max bytes', () => {
    const pattern = new RegExp(`^${base64Pattern('[A-Za-z0-9+/]', 2, 7)}$`)
    for (let bytes = 0; bytes <= 10; bytes++) {
      for (const fill of [0x00, 0xff, 0x5a]) {
        const encoded = Buffer.alloc(bytes, fill).toString('base64').replace(/=+$/, '')
        expect(pattern.test(encoded)).toBe(bytes >= 2 && bytes <= 7)
      }
    }
    // Same length, a last character whose unused bits are set: not what any encoder writes.
    expect(pattern.test('AAB')).toBe(false)
    expect(pattern.test('AAE')).toBe(true)
  })
})
