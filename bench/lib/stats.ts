/**
 * Small statistics over latency samples (milliseconds): nearest-rank percentiles, as load tools
 * report them, so "p99 of 100 samples" is the 99th sample and never an interpolation.
 */

export interface Summary {
  n: number;
  min: number;
  median: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of sorted samples; q in [0, 1]. */
export function percentileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1] as number;
}

export function percentile(samples: readonly number[], q: number): number {
  return percentileSorted([...samples].sort((a, b) => a - b), q);
}

export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const n = sorted.length;
  const sum = sorted.reduce((s, x) => s + x, 0);
  return {
    n,
    min: n ? (sorted[0] as number) : Number.NaN,
    median: percentileSorted(sorted, 0.5),
    p90: percentileSorted(sorted, 0.9),
    p95: percentileSorted(sorted, 0.95),
    p99: percentileSorted(sorted, 0.99),
    max: n ? (sorted[n - 1] as number) : Number.NaN,
    mean: n ? sum / n : Number.NaN,
  };
}

/** Formats milliseconds compactly: 0.42 ms, 12.3 ms, 1.25 s. */
export function ms(v: number): string {
  if (!Number.isFinite(v)) return '—';
  if (Math.abs(v) >= 1000) return `${(v / 1000).toFixed(2)} s`;
  if (Math.abs(v) >= 100) return `${v.toFixed(0)} ms`;
  if (Math.abs(v) >= 10) return `${v.toFixed(1)} ms`;
  return `${v.toFixed(2)} ms`;
}

export function mb(bytes: number): string {
  return Number.isFinite(bytes) ? `${(bytes / 1024 / 1024).toFixed(0)} MB` : '—';
}

export function ratio(figure: number, baseline: number): number {
  return baseline > 0 && Number.isFinite(figure) ? figure / baseline : Number.NaN;
}

/**
 * Throughput sustained over a run: events per second over the window between the first and the last
 * event, and the lowest rate of any full `windowMs` window (so a stall shows).
 */
export function throughput(timestamps: readonly number[], windowMs = 1000): { overall: number; minWindow: number; windows: number } {
  if (timestamps.length < 2) return { overall: Number.NaN, minWindow: Number.NaN, windows: 0 };
  const sorted = [...timestamps].sort((a, b) => a - b);
  const first = sorted[0] as number;
  const last = sorted[sorted.length - 1] as number;
  const overall = (sorted.length / Math.max(1, last - first)) * 1000;
  const full = Math.floor((last - first) / windowMs);
  let minWindow = Number.POSITIVE_INFINITY;
  let idx = 0;
  for (let w = 0; w < full; w++) {
    const end = first + (w + 1) * windowMs;
    let count = 0;
    while (idx < sorted.length && (sorted[idx] as number) < end) {
      idx++;
      count++;
    }
    minWindow = Math.min(minWindow, (count / windowMs) * 1000);
  }
  return { overall, minWindow: full > 0 ? minWindow : overall, windows: full };
}
