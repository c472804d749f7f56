// The CrossGuard policy pack: `pulumi preview --policy-pack policy` fails a change that breaks one
// of these guardrails. The rules themselves are pure functions in rules.ts.
import { PolicyPack, ReportViolation, ResourceValidationArgs, StackValidationArgs } from "@pulumi/policy";
import * as rules from "./rules";

const checked = (r: ResourceValidationArgs | StackValidationArgs["resources"][number]): rules.Checked => ({
    type: r.type,
    name: r.name,
    props: r.props,
    providerUrn: r.provider?.urn,
});

const perResource = (name: string, description: string, rule: (r: rules.Checked) => string[]) => ({
    name,
    description,
    enforcementLevel: "mandatory" as const,
    validateResource: (args: ResourceValidationArgs, report: ReportViolation) => rule(checked(args)).forEach((v) => report(v)),
});

new PolicyPack("plumr", {
    policies: [
        perResource(
            "privileged-only-node-agent-and-plumr",
            "Only the node agent may be privileged; the plumr sidecar may add NET_ADMIN alone, and be privileged only where its site says tunDevice: privileged; only the node agent runs on the node's network.",
            rules.privilegeViolations,
        ),
        perResource(
            "host-path-only-node-agent-and-binaries",
            "hostPath only for the node agent, the read-only binary mount, and the tun device of the plumr sidecars.",
            rules.hostPathViolations,
        ),
        perResource(
            "attachment-asks-for-ips",
            "NetworkAttachmentDefinition configs parse and declare capabilities.ips, spelled right.",
            rules.attachmentViolations,
        ),
        perResource("plumr-config-in-secrets", "The plumr config lives in Secrets only.", rules.plumrConfigViolations),
        perResource("explicit-provider", "Every resource names its provider.", rules.providerViolations),
        {
            name: "endpoint-address-in-node-range",
            description: "Endpoints request addresses inside their node's range.",
            enforcementLevel: "mandatory",
            validateStack: (args: StackValidationArgs, report: ReportViolation) =>
                rules.addressViolations(args.resources.map(checked)).forEach((v) => report(v)),
        },
    ],
});
