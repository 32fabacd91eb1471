/**
 * `work`'s value, or `late` when `work` has not settled after `ms`; rejects when `work` rejects
 * first. The timer is cleared either way, so it never keeps the process alive.
 */
export async function orAfter<T, L>(work: Promise<T>, ms: number, late: L): Promise<T | L> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const deadline = new Promise<L>((done) => {
    timer = setTimeout(() => done(late), ms)
  })
  try {
    return await Promise.race([work, deadline])
  } finally {
    clearTimeout(timer)
  }
}

/** Resolves when `work` does or after `ms`, whichever comes first, and says which (see orAfter). */
export function withDeadline(work: Promise<unknown>, ms: number): Promise<'done' | 'timed out'> {
  return orAfter(
    work.then(() => 'done' as const),
    ms,
    'timed out' as const,
  )
}
