/** Fails fast, with a clear message, when the services the integration tests need are not answering. */
import net from 'node:net';

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
    s.setTimeout(2000, () => (s.destroy(), resolve(false)));
  });
}

export default async function setup(): Promise<void> {
  const missing = [];
  if (!(await answers(5432))) missing.push('PostgreSQL on 127.0.0.1:5432');
  if (!(await answers(6379))) missing.push('Redis on 127.0.0.1:6379');
  if (missing.length) throw new Error(`integration tests need ${missing.join(' and ')}: run .ci/run, which starts them`);
}
