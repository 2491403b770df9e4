/**
 * The CPU time of the local runtime, read from /proc (Linux). workerd runs the worker and, under
 * Miniflare, the local D1, KV and rate-limit services in the same process, and nearly all of it
 * on one thread: that thread's time per request is what bounds the worker's throughput here
 * (throughput ≈ 1000 ÷ its ms per request), and it says which piece of a request costs what.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

export interface CpuReading {
  /** CPU seconds of every such process of the group, all threads. */
  total: number;
  /** CPU seconds of those processes' main threads (where the isolates run). */
  mainThread: number;
}

const ticksPerSecond = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime + stime (seconds), process group and name of a /proc/<pid>[/task/<tid>]/stat file. */
function readStat(file: string) {
  const stat = readFileSync(file, "utf8");
  const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
  // The fields after the name: state, ppid, pgrp, …, utime (12th), stime (13th).
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const seconds = (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  return { name, group: Number(fields[2]), seconds };
}

/**
 * A meter for the processes named `name` (workerd) in process group `group` (local-stack starts
 * the worker in a group of its own), or null where there is no /proc to read.
 */
export function workerdCpuMeter(
  group: number | undefined,
  name = "workerd",
): (() => CpuReading) | null {
  if (group === undefined) return null;
  try {
    readdirSync("/proc/self/task");
  } catch {
    return null;
  }
  return () => {
    const reading: CpuReading = { total: 0, mainThread: 0 };
    for (const pid of readdirSync("/proc")) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        const process = readStat(`/proc/${pid}/stat`);
        if (process.name !== name || process.group !== group) continue;
        reading.total += process.seconds;
        reading.mainThread += readStat(`/proc/${pid}/task/${pid}/stat`).seconds;
      } catch {
        // the process ended between listing and reading
      }
    }
    return reading;
  };
}
