// Reads a stack's configuration through the Pulumi CLI and checks it as the program does
// (program/prepare.ts): shared by the commands that act for a stack (preflight, discover).
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { prepare, Prepared } from "../program/prepare";

/** The stack `stackName` of the project in `workDir`, and its configuration prepared; throws the program's ConfigError. */
export async function prepareStack(stackName: string, workDir: string): Promise<{ stack: Stack; prepared: Prepared }> {
    const stack = await LocalWorkspace.selectStack({ stackName, workDir });
    const config = await stack.getAllConfig();
    const values = Object.fromEntries(Object.entries(config).map(([key, v]) => [key, v.value]));
    const secretKeys = new Set(Object.entries(config).flatMap(([key, v]) => (v.secret ? [key] : [])));
    return { stack, prepared: prepare(workDir, { values, secretKeys, stack: stackName.split("/").pop()! }) };
}
