// An interrupted start of the local clusters leaves nothing behind, and what a killed start left
// does not stop the next one (it completes what is healthy and replaces what is not). Runs the real command (dev/local/localClusters.ts) on the tests' own
// instance, interrupted once its first real node has started its kubelet.
import * as assert from "assert";
import { ChildProcess, spawn } from "child_process";
import * as path from "path";
import { instanceLeftovers, localClusterSpecs, startLocalClusters, stopLocalClusters } from "../../dev/local/localClusters";
import { namespacesUnavailable } from "../../dev/twin/twin";
import { eventually, exited } from "../support/pid1";
import { E2E, stopE2eClusters } from "../support/localClusters";

const ROOT = path.join(__dirname, "..", "..");
const nothingLeft = { processes: [], namespaces: [], cgroups: false, mounts: [], links: [] };

/** `localClusters.ts start e2e` in a process of its own, and when its first real node's kubelet has started. */
async function startUntilKubelet(): Promise<{ child: ChildProcess; output: () => string }> {
    // node itself, not npx: a signal must reach the command, not a wrapper.
    const child = spawn("node", ["-r", "ts-node/register/transpile-only", "dev/local/localClusters.ts", "start", E2E], { cwd: ROOT });
    let output = "";
    child.stdout!.on("data", (d) => (output += d));
    child.stderr!.on("data", (d) => (output += d));
    const first = localClusterSpecs(E2E)[0].realNodes[0];
    await eventually(
        `the kubelet of ${first.name} (output so far: ${output})`,
        () => (/imported plumr\.local/.test(output) ? true : undefined),
        120_000,
    );
    return { child, output: () => output };
}

describe("local clusters: interrupted and killed starts", function () {
    this.timeout(10 * 60_000);

    before(function () {
        const unavailable = namespacesUnavailable();
        if (unavailable) {
            console.log(`    skipped: ${unavailable}`);
            this.skip();
        }
        // Start from nothing, whatever an earlier run or test file left; the files after this one start them again.
        stopE2eClusters();
    });
    after(() => stopE2eClusters());

    it("stopped by SIGTERM while starting, removes everything it started", async () => {
        const { child, output } = await startUntilKubelet();
        child.kill("SIGTERM");
        const ended = await exited(child, 60_000);
        assert.strictEqual(ended.code, 143, output());
        assert.deepStrictEqual(instanceLeftovers(E2E), nothingLeft);
    });

    it("killed while starting, leaves what the next start removes before it starts", async () => {
        const { child } = await startUntilKubelet();
        child.kill("SIGKILL");
        await exited(child, 10_000);
        const left = instanceLeftovers(E2E);
        assert.ok(left.processes.length > 0 && left.namespaces.length > 0, "a killed start leaves its processes and namespaces");
        const { started } = await startLocalClusters(E2E);
        assert.ok(started, "a killed start is not taken for a running instance: the next start completes it");
        stopLocalClusters(E2E);
        assert.deepStrictEqual(instanceLeftovers(E2E), nothingLeft);
    });
});
