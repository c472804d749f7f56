// The end-to-end tests' own local clusters (instance e2e): started once, on first use, by whichever
// test file needs them first, and stopped after the last test if this run started them. A demo
// running on the same machine has clusters of its own and is never touched.
import { onInterrupt } from "../../lib/interrupts";
import { ClusterSpec, Instance, localClustersRunning, startLocalClusters, stopLocalClusters } from "../../dev/local/localClusters";

export const E2E: Instance = "e2e";
let starting: Promise<{ clusters: ClusterSpec[]; started: boolean }> | undefined;
let unregister = () => {};

/** The e2e clusters, running. Interrupted, the test run stops them again if it started them. */
export async function e2eClusters(): Promise<ClusterSpec[]> {
    // A test that stops them (npm run demo -- --down on this instance) leaves them to the next start.
    if (starting && (await starting.catch(() => undefined)) && !localClustersRunning(E2E)) {
        unregister();
        starting = undefined;
    }
    starting ??= startLocalClusters(E2E).then((result) => {
        if (result.started) unregister = onInterrupt(() => stopLocalClusters(E2E));
        return result;
    });
    return (await starting).clusters;
}

/** Stops the e2e clusters, whoever started them: the next e2eClusters() starts them afresh. */
export function stopE2eClusters(): void {
    unregister();
    unregister = () => {};
    starting = undefined;
    stopLocalClusters(E2E);
}

after(async function () {
    this.timeout(5 * 60_000);
    unregister();
    if (starting && (await starting.catch(() => undefined))?.started) stopLocalClusters(E2E);
});
