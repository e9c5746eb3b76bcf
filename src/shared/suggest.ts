/** Edit distance (insertions, deletions, substitutions, adjacent swaps), for "did you mean". */
export function distance(a: string, b: string): number {
  const rows = Array.from({length: a.length + 1}, (_, i) => [i, ...Array<number>(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) rows[0]![j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let best = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, rows[i - 2]![j - 2]! + 1)
      rows[i]![j] = best
    }
  }
  return rows[a.length]![b.length]!
}

/**
 * The candidates closest to what was typed, case-insensitively: those within a third of its
 * length in edits (at least one), or that contain it or that it contains. Only the closest are
 * named (all of them when several are as close).
 */
export function suggest(typed: string, candidates: Iterable<string>, max = 3): string[] {
  const word = typed.toLowerCase()
  if (!word) return []
  const scored: {candidate: string; score: number}[] = []
  for (const candidate of new Set(candidates)) {
    const lower = candidate.toLowerCase()
    const edits = distance(word, lower)
    const near = edits <= Math.max(1, Math.floor(word.length / 3))
    const inside = word.length >= 3 && (lower.includes(word) || word.includes(lower))
    if (near || inside) scored.push({candidate, score: near ? edits : word.length})
  }
  const best = Math.min(...scored.map((item) => item.score))
  return scored
    .filter((item) => item.score === best)
    .sort((a, b) => a.candidate.localeCompare(b.candidate))
    .slice(0, max)
    .map((item) => item.candidate)
}

/** ` Did you mean "a" or "b"?` or nothing. */
export function didYouMean(typed: string, candidates: Iterable<string>): string {
  const close = suggest(typed, candidates)
  if (close.length === 0) return ''
  const quoted = close.map((candidate) => `"${candidate}"`)
  return ` Did you mean ${quoted.length === 1 ? quoted[0] : `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}`}?`
}
