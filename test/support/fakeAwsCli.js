#!/usr/bin/env node
// A stand-in for the aws CLI's `ec2 describe-*` calls that npm run discover makes, answering from
// the EC2 model in the JSON file $FAKE_AWS_EC2 (fakeEc2.ts's instances, subnets, VPCs and route
// tables, with transitGateways, gatewayRouteTables and the operations the credentials may not
// call, `denied`), in the shapes and with the errors the real CLI gives: JSON on stdout, or on
// stderr "An error occurred (<code>) when calling the <operation> operation: ..." and exit 254.
// `sts assume-role` answers temporary credentials named after the role's session, unless the
// model's `denied` holds AssumeRole. Each call's arguments are appended to the file
// $FAKE_AWS_CALLS, when set, with the access key it ran with (`[as <key>]`) when there is one. Every instance has a
// second network interface, listed before its primary one (device index 0), as an EKS node with
// the VPC CNI has.
const fs = require("fs");

const args = process.argv.slice(2);
const as = process.env.AWS_ACCESS_KEY_ID ? ` [as ${process.env.AWS_ACCESS_KEY_ID}]` : "";
if (process.env.FAKE_AWS_CALLS) fs.appendFileSync(process.env.FAKE_AWS_CALLS, `${args.join(" ")}${as}\n`);
const model = JSON.parse(fs.readFileSync(process.env.FAKE_AWS_EC2, "utf8"));

/** The values after `name`, up to the next flag. */
function flag(name) {
    const at = args.indexOf(name);
    const values = [];
    for (let i = at + 1; at >= 0 && i < args.length && !args[i].startsWith("--"); i++) values.push(args[i]);
    return values;
}

function fail(code, operation, message) {
    process.stderr.write(`\nAn error occurred (${code}) when calling the ${operation} operation: ${message}\n`);
    process.exit(254);
}

const region = flag("--region")[0];
const inRegion = (list) => (list ?? []).filter((x) => x.region === region);

/** What each call lists: its operation, the flag of its ids, the model's things, their error when an id is unknown, and the answer. */
const CALLS = {
    "describe-instances": {
        operation: "DescribeInstances",
        ids: "--instance-ids",
        things: () => inRegion(model.instances),
        notFound: (id) => ["InvalidInstanceID.NotFound", `The instance ID '${id}' does not exist`],
        answer: (found) => ({
            Reservations: found.map((i) => {
                const nic = (id, index) => ({
                    NetworkInterfaceId: id,
                    SubnetId: i.subnetId,
                    Attachment: { DeviceIndex: index, NetworkCardIndex: 0 },
                });
                return {
                    Instances: [
                        {
                            InstanceId: i.id,
                            SubnetId: i.subnetId,
                            Placement: { AvailabilityZone: i.availabilityZone },
                            State: { Name: "running" },
                            NetworkInterfaces: [nic(`eni-2-of-${i.id}`, 1), nic(i.networkInterfaceId, 0)],
                            SecurityGroups: i.securityGroupIds.map((g) => ({ GroupId: g, GroupName: `group-${g}` })),
                        },
                    ],
                };
            }),
        }),
    },
    "describe-subnets": {
        operation: "DescribeSubnets",
        ids: "--subnet-ids",
        things: () => inRegion(model.subnets),
        notFound: (id) => ["InvalidSubnetID.NotFound", `The subnet ID '${id}' does not exist`],
        answer: (found) => ({ Subnets: found.map((s) => ({ SubnetId: s.id, VpcId: s.vpcId, AvailabilityZone: s.availabilityZone })) }),
    },
    "describe-vpcs": {
        operation: "DescribeVpcs",
        ids: "--vpc-ids",
        things: () => inRegion(model.vpcs),
        notFound: (id) => ["InvalidVpcID.NotFound", `The vpc ID '${id}' does not exist`],
        answer: (found) => ({
            Vpcs: found.map((v) => ({
                VpcId: v.id,
                CidrBlock: v.cidrBlocks[0].cidrBlock,
                CidrBlockAssociationSet: v.cidrBlocks.map((b, i) => ({
                    AssociationId: `vpc-cidr-assoc-${i}`,
                    CidrBlock: b.cidrBlock,
                    CidrBlockState: { State: b.state },
                })),
            })),
        }),
    },
    "describe-transit-gateways": {
        operation: "DescribeTransitGateways",
        ids: "--transit-gateway-ids",
        things: () => inRegion(model.transitGateways),
        notFound: (id) => ["InvalidTransitGatewayID.NotFound", `Transit Gateway ${id} was deleted or does not exist.`],
        answer: (found) => ({
            TransitGateways: found.map((g) => ({
                TransitGatewayId: g.id,
                State: "available",
                Options: {
                    DefaultRouteTableAssociation: g.defaultRouteTableAssociation,
                    AssociationDefaultRouteTableId: g.associationDefaultRouteTableId,
                },
            })),
        }),
    },
    "describe-transit-gateway-route-tables": {
        operation: "DescribeTransitGatewayRouteTables",
        ids: "--transit-gateway-route-table-ids",
        things: () => inRegion(model.gatewayRouteTables),
        notFound: (id) => ["InvalidRouteTableID.NotFound", `The transitGatewayRouteTable ID '${id}' does not exist.`],
        answer: (found) => ({
            TransitGatewayRouteTables: found.map((t) => ({
                TransitGatewayRouteTableId: t.id,
                TransitGatewayId: t.transitGatewayId,
                State: "available",
            })),
        }),
    },
    "describe-route-tables": {
        operation: "DescribeRouteTables",
        answer: (found) => ({ RouteTables: found.map((t) => ({ RouteTableId: t.id, VpcId: t.vpcId })) }),
    },
};

/** The route tables every `Name=<filter>,Values=<v>,...` argument lets through. */
function routeTables() {
    const tests = {
        "vpc-id": (t, values) => values.includes(t.vpcId),
        "association.subnet-id": (t, values) => t.subnetIds.some((s) => values.includes(s)),
        "association.main": (t, values) => values.includes(String(t.main)),
    };
    let found = inRegion(model.routeTables);
    for (const filter of flag("--filters")) {
        const [, name, values] = /^Name=([^,]+),Values=(.*)$/.exec(filter) ?? [];
        if (!tests[name]) fail("InvalidParameterValue", "DescribeRouteTables", `The filter '${filter}' is invalid`);
        found = found.filter((t) => tests[name](t, values.split(",")));
    }
    return found;
}

if (args[0] === "sts" && args[1] === "assume-role") {
    const [roleArn] = flag("--role-arn");
    const [session] = flag("--role-session-name");
    if ((model.denied ?? []).includes("AssumeRole")) {
        fail(
            "AccessDenied",
            "AssumeRole",
            `User: arn:aws:iam::111111111111:user/runner is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
        );
    }
    const Credentials = {
        AccessKeyId: `ASIA-${session}`,
        SecretAccessKey: "secret",
        SessionToken: "token",
        Expiration: "2026-01-01T00:00:00Z",
    };
    const query = flag("--query")[0];
    if (flag("--output")[0] === "text" && query) {
        process.stdout.write(`${Credentials.AccessKeyId}\t${Credentials.SecretAccessKey}\t${Credentials.SessionToken}\n`);
    } else {
        process.stdout.write(JSON.stringify({ Credentials, AssumedRoleUser: { Arn: `${roleArn}/${session}` } }, null, 4));
    }
    process.exit(0);
}

const call = CALLS[args[1]];
if (args[0] !== "ec2" || !call || flag("--output")[0] !== "json" || !region) {
    process.stderr.write(`the stand-in aws CLI knows no such call: aws ${args.join(" ")}\n`);
    process.exit(252);
}
if ((model.denied ?? []).includes(call.operation)) {
    fail("UnauthorizedOperation", call.operation, "You are not authorized to perform this operation.");
}
if (!call.ids) {
    process.stdout.write(JSON.stringify(call.answer(routeTables()), null, 4));
} else {
    const ids = flag(call.ids);
    const things = call.things();
    const missing = ids.find((id) => !things.some((t) => t.id === id));
    if (missing) {
        const [code, message] = call.notFound(missing);
        fail(code, call.operation, message);
    }
    process.stdout.write(JSON.stringify(call.answer(things.filter((t) => ids.includes(t.id))), null, 4));
}
