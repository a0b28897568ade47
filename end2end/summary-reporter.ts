import type { Reporter, TestCase, TestResult } from "@playwright/test/reporter";
import { statfsSync } from "node:fs";
import { tmpdir } from "node:os";

// CI shows only the end of a run's output: this prints, last, each failed test with the first lines of its
// error, where it stopped, whether the hub still answered /healthz right after (a dead or wedged server reads
// differently from a failing test) and the disk space left where the hub's database lives.
export default class SummaryReporter implements Reporter {
  private failures: Promise<string>[] = [];

  onTestEnd(test: TestCase, result: TestResult) {
    if (result.status === "passed" || result.status === "skipped" || result.status === test.expectedStatus) return;
    const error = result.errors[0];
    // eslint-disable-next-line no-control-regex
    const message = (error?.message ?? result.status).replace(/\u001b\[[0-9;]*m/g, "").split("\n").filter((l) => l.trim()).slice(0, 6);
    const at = error?.location ? `${error.location.file.split("/end2end/")[1] ?? error.location.file}:${error.location.line}` : "";
    const title = `${test.titlePath().slice(2).join(" › ")} (${result.status}, ${Math.round(result.duration / 1000)} s) ${at}`;
    const disk = freeDisk();
    this.failures.push(health().then((h) => `✘ ${title}; the hub's /healthz ${h}; ${disk}\n    ${message.join("\n    ")}`));
  }

  async onEnd() {
    if (this.failures.length === 0) return;
    console.log(`\nFailed tests, first lines of each error:\n${(await Promise.all(this.failures)).join("\n")}`);
  }

  printsToStdio() {
    return true;
  }
}

async function health(): Promise<string> {
  const start = Date.now();
  try {
    const res = await fetch(`http://127.0.0.1:${process.env.E2E_PORT ?? "3107"}/healthz`, { signal: AbortSignal.timeout(5000) });
    return `answered ${res.status} in ${Date.now() - start} ms`;
  } catch (e) {
    return `did not answer (${(e as Error).message})`;
  }
}

function freeDisk(): string {
  try {
    const s = statfsSync(tmpdir());
    return `${((s.bavail * s.bsize) / 2 ** 30).toFixed(1)} GiB free in ${tmpdir()}`;
  } catch {
    return "free disk unknown";
  }
}
