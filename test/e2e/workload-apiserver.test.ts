// Generated workload settings, each judged by the program and by a real API server (the tests'
// local clusters, instance e2e): the endpoint's pod the program would render is created with a
// server-side dry run, which runs the API server's validation and admission and keeps nothing. The
// program must refuse whatever the API server refuses, so that no setting passes preview and fails
// halfway through pulumi up, and take whatever it takes but for what it refuses on purpose.
import * as assert from "assert";
import fc from "fast-check";
import { KubeApi } from "../../dev/local/localClusters";
import { e2eClusters } from "../support/localClusters";
import { programVerdict, STRICTER_BY_DESIGN, uncheckedPod, workloadSettings } from "../support/workloadCases";

/** How many generated cases go to the API server. */
const CASES = 150;

describe("workload settings judged by the program and by a real API server", function () {
    this.timeout(20 * 60_000);
    let api: KubeApi;
    before(async () => {
        const [cluster] = await e2eClusters();
        api = new KubeApi(cluster);
    });

    /** What the API server says to creating `pod`, without keeping it: undefined when it takes it, else its reasons. */
    async function apiServerRefusal(pod: any): Promise<string | undefined> {
        const { status, body } = await api.request("POST", "/api/v1/namespaces/default/pods?dryRun=All", pod);
        if (status === 201) return undefined;
        assert.ok(status === 400 || status === 422, `the API server answered ${status}: ${JSON.stringify(body)}`);
        const causes = (body?.details?.causes ?? []).map((c: any) => `${c.field}: ${c.message}`);
        return causes.length > 0 ? causes.join("; ") : String(body?.message);
    }

    it(`agree on ${CASES} generated cases: what the API server refuses, the program refuses before any change`, async () => {
        const cases = fc.sample(workloadSettings, { numRuns: CASES, seed: 26 });
        const disagreements: string[] = [];
        const seen = { bothTake: 0, bothRefuse: 0, onPurpose: 0 };
        for (const settings of cases) {
            const verdict = programVerdict(settings);
            const pod = uncheckedPod(settings);
            if (verdict.accepted) assert.deepStrictEqual(verdict.pod, pod, "the unchecked pod is the one the program renders");
            const refusal = await apiServerRefusal(pod);
            const what = JSON.stringify(settings);
            if (verdict.accepted && refusal === undefined) seen.bothTake++;
            else if (!verdict.accepted && refusal !== undefined) seen.bothRefuse++;
            else if (verdict.accepted) disagreements.push(`the program takes ${what}; the API server refuses it: ${refusal}`);
            else {
                const unexplained = verdict.problems.filter(
                    (p) => !STRICTER_BY_DESIGN.some((s) => s.field.test(p.field) && s.message.test(p.message)),
                );
                if (unexplained.length === 0) seen.onPurpose++;
                else disagreements.push(`the program refuses ${what}; the API server takes it: ${JSON.stringify(unexplained)}`);
            }
        }
        assert.deepStrictEqual(disagreements, []);
        // The sample reaches every kind of agreement.
        assert.ok(seen.bothTake > 10 && seen.bothRefuse > 10 && seen.onPurpose > 0, JSON.stringify(seen));
    });
});
