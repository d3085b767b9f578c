/** The machine a benchmark ran on, for the report header and the JSON. */
import { cpus, loadavg, platform, release, totalmem } from "node:os";
import { round } from "./stats.js";

/** 1-minute load average: above ~0 before or after the run, other work shared the CPUs. */
export const load1 = () => round(loadavg()[0]!);

export function machineInfo() {
  const cpu = cpus();
  return {
    cpus: cpu.length,
    model: cpu[0]?.model ?? "unknown",
    node: process.version,
    platform: `${platform()} ${release()}`,
    totalMemoryGiB: round(totalmem() / 2 ** 30),
    loadAverageAtStart: load1(),
  };
}

export type MachineInfo = ReturnType<typeof machineInfo>;
