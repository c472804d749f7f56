// What a preview of a stack on the local clusters would change, for the end-to-end tests.
import { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import { preview } from "../../dev/local/localStacks";

/** What a preview would change: "op type name" for every resource that is not the same, sorted. */
export async function previewChanges(stack: Stack): Promise<string[]> {
    const changes: string[] = [];
    await preview(stack, {
        onEvent: (event: EngineEvent) => {
            const step = event.resourcePreEvent?.metadata;
            if (step && step.op !== "same" && step.op !== "read") changes.push(`${step.op} ${step.type} ${step.urn.split("::").pop()}`);
        },
    });
    return changes.sort();
}
