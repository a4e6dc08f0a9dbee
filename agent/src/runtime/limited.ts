/** Inspects in flight at once when listing: enough to be quick, few enough not to queue up the engine. */
export const INSPECT_CONCURRENCY = 8;

/** `map` over `items` with at most `concurrency` calls in flight; results in the order of `items`. */
export async function mapLimited<T, R>(
  items: readonly T[],
  map: (item: T) => Promise<R>,
  concurrency = INSPECT_CONCURRENCY,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) results[i] = await map(items[i] as T);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}
