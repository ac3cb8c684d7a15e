/** One line that says where and when figures were measured; absolute times mean little without it. */
import os from 'node:os';

export interface MachineInfo {
  date: string;
  cpu: string;
  cores: number;
  memoryGb: number;
  node: string;
  platform: string;
  loadAverage: string;
}

export function machineInfo(now: Date = new Date()): MachineInfo {
  const cpus = os.cpus();
  return {
    date: now.toISOString().replace(/\.\d+Z$/, 'Z'),
    cpu: (cpus[0]?.model ?? 'unknown cpu').replace(/\s+/g, ' ').trim(),
    cores: cpus.length,
    memoryGb: Math.round(os.totalmem() / 1024 ** 3),
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
    loadAverage: os.loadavg().map((l) => l.toFixed(2)).join(' '),
  };
}

export function describeMachine(m: MachineInfo): string {
  return `${m.date} · ${m.cpu}, ${m.cores} cores, ${m.memoryGb} GB · ${m.platform} · Node ${m.node} · load average ${m.loadAverage}`;
}
