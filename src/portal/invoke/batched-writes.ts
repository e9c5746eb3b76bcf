type Write = <T>(work: () => Promise<T>) => Promise<T>

interface Waiting {
  work: () => Promise<unknown>
  resolve: (value: unknown) => void
  reject: (error: unknown) => void
}

/**
 * Writes that arrive together share one transaction. The dispatcher has up to 16 deliveries in
 * flight, each writing twice (sending, outcome): one commit for all that are ready at once,
 * instead of one each. Each work still runs whole before the caller goes on, as with `write`. If
 * one of them fails, the batch is rolled back and each work is run again on its own, so a
 * failure is its own caller's alone.
 */
export function batchedWrites(write: Write): Write {
  let waiting: Waiting[] = []

  async function flush(): Promise<void> {
    const batch = waiting
    waiting = []
    if (batch.length === 1) {
      const [only] = batch as [Waiting]
      return write(only.work).then(only.resolve, only.reject)
    }
    try {
      const results = await write(async () => {
        const done: unknown[] = []
        for (const item of batch) done.push(await item.work())
        return done
      })
      batch.forEach((item, index) => item.resolve(results[index]))
    } catch {
      for (const item of batch) void write(item.work).then(item.resolve, item.reject)
    }
  }

  return <T>(work: () => Promise<T>) =>
    new Promise<T>((resolve, reject) => {
      if (waiting.length === 0) setImmediate(() => void flush())
      waiting.push({reject, resolve: resolve as (value: unknown) => void, work})
    })
}
