/**
 * "Did you mean …?" for a mistyped command: the known names within an edit distance of 3 (optimal string alignment,
 * as git and commander measure it), closest first.
 */
const MAX_DISTANCE = 3;

function distance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > MAX_DISTANCE) return Math.max(a.length, b.length);
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) d.push([i]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let j = 1; j <= b.length; j++) {
    for (let i = 1; i <= a.length; i++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The names closest to `typed` (ties all kept), or none when nothing is close. */
export function similar(typed: string, names: readonly string[]): string[] {
  let best = MAX_DISTANCE + 1;
  let out: string[] = [];
  for (const n of names) {
    const dist = distance(typed, n);
    // A distance as long as the word itself is no suggestion (`dlt x` is not "did you mean init").
    if (dist >= n.length && dist >= typed.length) continue;
    if (dist < best) {
      best = dist;
      out = [n];
    } else if (dist === best) out.push(n);
  }
  return best <= MAX_DISTANCE ? out : [];
}
