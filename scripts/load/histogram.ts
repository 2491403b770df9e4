/** Latencies in buckets 2 % wide (from 1 µs to about 80 s): bounded memory, p50/p99 to ~2 %. */
export class Histogram {
  private static readonly RATIO = Math.log(1.02);
  private readonly buckets = new Uint32Array(1000);
  count = 0;

  add(ms: number): void {
    const micros = Math.max(1, ms * 1000);
    const index = Math.min(this.buckets.length - 1, Math.floor(Math.log(micros) / Histogram.RATIO));
    this.buckets[index] = (this.buckets[index] ?? 0) + 1;
    this.count++;
  }

  merge(other: Histogram): void {
    other.buckets.forEach((n, i) => {
      this.buckets[i] = (this.buckets[i] ?? 0) + n;
    });
    this.count += other.count;
  }

  /** The upper edge of the bucket holding the q-quantile, in ms. */
  quantile(q: number): number {
    if (this.count === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.buckets[i] ?? 0;
      if (seen >= rank) return Math.exp((i + 1) * Histogram.RATIO) / 1000;
    }
    return Number.NaN;
  }
}
