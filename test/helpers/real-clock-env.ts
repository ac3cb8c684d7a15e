/**
 * The environment for a program the tests start that is not ours: a throwaway redis-server, Chromium.
 * Under `npm run test:clock` the test processes run on a shifted clock (libfaketime, by LD_PRELOAD);
 * those programs break under it (redis-server recurses in clock_gettime, Chromium spins), and the time
 * they keep is not what the tests are about. Outside a shifted run this is process.env as it is.
 */
export function realClockEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env };
  const preload = out.LD_PRELOAD?.split(/[:\s]+/).filter((lib) => lib && !/faketime/.test(lib));
  if (preload && preload.length > 0) out.LD_PRELOAD = preload.join(':');
  else delete out.LD_PRELOAD;
  for (const key of Object.keys(out)) if (key.startsWith('FAKETIME')) delete out[key];
  return out;
}
