/**
 * The product as the bench runs it: bench/sut-entry.ts (→ runApp) bundled by esbuild with the options
 * of scripts/build.mjs, the production build, and run with Node alone. Packages stay external (loaded
 * from node_modules as usual).
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export async function bundleSut(): Promise<string> {
  const { build } = await import('esbuild');
  // bench/.build/sut.mjs: `../../drizzle` from there is the migrations folder, as from src/db.
  const outfile = fileURLToPath(new URL('../.build/sut.mjs', import.meta.url));
  mkdirSync(fileURLToPath(new URL('../.build/', import.meta.url)), { recursive: true });
  await build({
    entryPoints: [fileURLToPath(new URL('../sut-entry.ts', import.meta.url))],
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    target: 'node20',
    outfile,
    logLevel: 'warning',
  });
  return outfile;
}
