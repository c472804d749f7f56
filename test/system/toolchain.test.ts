// The locally built engine and plugins must match the SDK versions package-lock.json installs.
import * as assert from "assert";
import lock from "../../package-lock.json";
import versions from "../../dev/toolchain/versions.json";

describe("toolchain versions", () => {
    const installed = (name: string) => (lock.packages as Record<string, { version?: string }>)[`node_modules/${name}`]?.version;

    it("builds the Pulumi CLI and language host at the @pulumi/pulumi version in the lock file", () => {
        assert.strictEqual(versions.pulumi, installed("@pulumi/pulumi"));
    });

    it("builds the Kubernetes provider at the @pulumi/kubernetes version in the lock file", () => {
        assert.strictEqual(versions.pulumiKubernetes, installed("@pulumi/kubernetes"));
    });
});
