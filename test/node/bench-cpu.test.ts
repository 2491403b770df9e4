import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { workerdCpuMeter } from "../../bench/cpu.ts";

const BURN = "const end = Date.now() + 400; while (Date.now() < end); setTimeout(() => {}, 10000);";

// The bench's CPU figures (bench/cpu.ts) read /proc: Linux only.
describe.runIf(existsSync("/proc/self/stat"))("the bench's CPU meter", () => {
  it("counts the CPU time of the named processes of one process group, and only theirs", async () => {
    // A child in a group of its own that burns about 400 ms of CPU on its main thread, then waits.
    const child = spawn(process.execPath, ["-e", BURN], { detached: true, stdio: "ignore" });
    const group = child.pid as number;
    try {
      await new Promise((resolve) => setTimeout(resolve, 1500));
      // The kernel's name of the process, once it runs (Node names its main thread MainThread).
      const name = readFileSync(`/proc/${group}/comm`, "utf8").trim();
      const reading = workerdCpuMeter(group, name)?.();
      expect(reading?.total).toBeGreaterThanOrEqual(0.3);
      expect(reading?.mainThread).toBeGreaterThanOrEqual(0.3);
      expect(reading?.mainThread).toBeLessThanOrEqual(reading?.total ?? 0);
      // Another group, or another name, is not counted.
      expect(workerdCpuMeter(group + 1_000_000, name)?.().total).toBe(0);
      expect(workerdCpuMeter(group, "workerd")?.().total).toBe(0);
    } finally {
      process.kill(-group, "SIGKILL");
    }
  });

  it("is null where there is no group to measure", () => {
    expect(workerdCpuMeter(undefined)).toBeNull();
  });
});
