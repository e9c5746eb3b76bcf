/**
 * Kahn's algorithm in waves: each wave holds the nodes whose dependencies are all in earlier
 * waves. Nodes left over sit on a cycle (or depend on one); they are returned apart.
 */
export function waves<T>(
  nodes: T[],
  key: (node: T) => string,
  dependencies: (node: T) => string[],
): {waves: T[][]; cyclic: T[]} {
  const byKey = new Map(nodes.map((node) => [key(node), node]))
  const pending = new Map<string, number>()
  const dependents = new Map<string, string[]>()
  for (const node of nodes) {
    const own = key(node)
    const deps = [...new Set(dependencies(node))].filter((dep) => dep !== own && byKey.has(dep))
    pending.set(own, deps.length)
    for (const dep of deps) {
      if (!dependents.has(dep)) dependents.set(dep, [])
      dependents.get(dep)!.push(own)
    }
  }
  const result: T[][] = []
  let ready = [...pending].filter(([, count]) => count === 0).map(([id]) => id)
  const done = new Set<string>()
  while (ready.length > 0) {
    result.push(ready.map((id) => byKey.get(id)!))
    const next: string[] = []
    for (const id of ready) {
      done.add(id)
      for (const dependent of dependents.get(id) ?? []) {
        const left = pending.get(dependent)! - 1
        pending.set(dependent, left)
        if (left === 0) next.push(dependent)
      }
    }
    ready = next
  }
  return {cyclic: nodes.filter((node) => !done.has(key(node))), waves: result}
}

/** Runs `work` over `items` with at most `limit` in flight; resolves when all are done. */
export async function eachLimited<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < items.length) await work(items[next++]!)
  }
  await Promise.all(Array.from({length: Math.min(limit, items.length)}, worker))
}

/** Items grouped by key, in first-seen order (Map.groupBy arrives only in Node 21). */
export function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>()
  for (const item of items) {
    const name = key(item)
    const group = groups.get(name)
    if (group) group.push(item)
    else groups.set(name, [item])
  }
  return groups
}
