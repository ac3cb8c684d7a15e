/**
 * The product as the image runs it: `npm run build` (scripts/build.mjs: src/main.ts bundled by esbuild
 * into dist/bundle/, with source maps), then `node --enable-source-maps dist/bundle/main.mjs --role …`
 * (the Dockerfile's ENTRYPOINT). Packages stay external, loaded from node_modules as in the image.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from './processes.js';

/** The Dockerfile's ENTRYPOINT flags, before the script. */
export const IMAGE_NODE_ARGS = ['--enable-source-maps'] as const;

let built: Promise<string> | undefined;

/** Builds once per bench run; every segment runs the same build. */
export function buildImage(): Promise<string> {
  built ??= build();
  return built;
}

async function build(): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    const p = spawn(process.execPath, ['scripts/build.mjs'], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    p.once('error', reject);
    p.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`npm run build failed (${code}): ${err.slice(0, 2_000)}`))));
  });
  return fileURLToPath(new URL('../../dist/bundle/main.mjs', import.meta.url));
}
