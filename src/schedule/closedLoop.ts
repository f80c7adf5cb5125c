/**
 * Closed loop: `concurrency` workers, each taking the next item when its previous one ends
 * (the Python tools' notion of concurrency). Items are taken in order; stops taking new items once
 * `signal` aborts, and lets the ones in flight finish.
 */
export async function runClosedLoop<T>(
  items: ArrayLike<T>,
  concurrency: number,
  work: (item: T, index: number) => Promise<void>,
  signal?: AbortSignal,
  /** Called once every worker has started its first item (synchronously, for work that sends at once). */
  onStarted?: () => void,
): Promise<void> {
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length && !signal?.aborted) {
      const index = next++
      await work(items[index] as T, index)
    }
  }
  const workers = Math.max(1, Math.min(concurrency, items.length))
  const running = Array.from({ length: workers }, worker)
  onStarted?.()
  await Promise.all(running)
}
