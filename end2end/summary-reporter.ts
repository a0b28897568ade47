import type { Reporter, TestCase, TestResult } from "@playwright/test/reporter";

// CI shows only the end of a run's output: this prints, last, each failed test with the first lines of its
// error, where it stopped, and whether the hub still answered /healthz right after (a dead or wedged server
// reads differently from a failing test).
export default class SummaryReporter implements Reporter {
  private failures: Promise<string>[] = [];

  onTestEnd(test: TestCase, result: TestResult) {
    if (result.status === "passed" || result.status === "skipped" || result.status === test.expectedStatus) return;
    const error = result.errors[0];
    // eslint-disable-next-line no-control-regex
    const message = (error?.message ?? result.status).replace(/\u001b\[[0-9;]*m/g, "").split("\n").filter((l) => l.trim()).slice(0, 6);
    const at = error?.location ? `${error.location.file.split("/end2end/")[1] ?? error.location.file}:${error.location.line}` : "";
    const title = `${test.titlePath().slice(2).join(" › ")} (${result.status}, ${Math.round(result.duration / 1000)} s) ${at}`;
    this.failures.push(health().then((h) => `✘ ${title}; the hub's /healthz ${h}\n    ${message.join("\n    ")}`));
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
