/** Samples a process's resident set size while something runs. */
import type { Child } from './processes.js';

export class RssSampler {
  readonly samples: number[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly child: Child,
    private readonly everyMs = 200,
  ) {}

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.everyMs);
    return this;
  }

  sample(): number {
    const v = this.child.rss();
    if (v > 0) this.samples.push(v);
    return v;
  }

  stop(): { max: number; last: number; n: number } {
    clearInterval(this.timer);
    this.sample();
    return { max: Math.max(0, ...this.samples), last: this.samples[this.samples.length - 1] ?? 0, n: this.samples.length };
  }
}
