// The production build: src/main.ts and src/cli.ts bundled by esbuild into dist/bundle/, run by Node
// alone (no TypeScript loader at run time: about 40 MB less memory and a faster start). Packages stay
// in node_modules. dist/bundle/ is two folders deep, as src/db/ and src/sandbox/ are, so the paths the
// sources compute from import.meta.url (../../drizzle, ../../examples) still resolve; the sandbox page's
// files are copied beside the bundle, where run-sandbox.ts looks for them (./web/).
import { cpSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('../', import.meta.url));
const out = `${root}dist/bundle`;
rmSync(out, { recursive: true, force: true });
await build({
  entryPoints: { main: `${root}src/main.ts`, cli: `${root}src/cli.ts` },
  outdir: out,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  packages: 'external',
  target: 'node20',
  sourcemap: true,
  // Stack traces need the mappings, not the sources' text: the map the process parses at start is a third the size.
  sourcesContent: false,
  logLevel: 'warning',
});
cpSync(`${root}src/sandbox/web`, `${out}/web`, { recursive: true });
console.log(`built ${out}/main.mjs and ${out}/cli.mjs`);
