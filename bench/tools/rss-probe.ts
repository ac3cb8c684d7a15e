/**
 * Where the product's idle memory goes: RSS after importing the composition root (every module the
 * process loads) without starting anything, printed with the heap figures. Compare with
 * `node -e` (Node alone) and `node --import tsx -e` (the tsx loader alone) to split the total.
 * Usage: node --import tsx bench/tools/rss-probe.ts
 */
import '../../src/main.js';
import '../../src/channels/telegram/index.js';

setTimeout(() => {
  if (typeof globalThis.gc === 'function') globalThis.gc();
  const m = process.memoryUsage();
  const mb = (n: number) => Math.round(n / 1024 / 1024);
  console.log(JSON.stringify({ rss: mb(m.rss), heapUsed: mb(m.heapUsed), heapTotal: mb(m.heapTotal), external: mb(m.external), arrayBuffers: mb(m.arrayBuffers) }));
}, 2_000);
