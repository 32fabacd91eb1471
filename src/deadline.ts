/**
 * Resolves when `work` does or after `ms`, whichever comes first, and says which; rejects when
 * `work` rejects first. The timer is cleared either way, so it never keeps the process alive.
 */
export async function withDeadline(work: Promise<unknown>, ms: number): Promise<'done' | 'timed out'> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const deadline = new Promise<'timed out'>((done) => {
    timer = setTimeout(() => done('timed out'), ms)
  })
  try {
    return await Promise.race([work.then(() => 'done' as const), deadline])
  } finally {
    clearTimeout(timer)
  }
}
