// A site's AWS lookups (planner/aws/found.ts) outside the Pulumi engine, for npm run discover: the
// aws CLI on PATH, in the site's region, with the credentials the user's environment gives it (the
// profile plumr:access.<site>.awsProfile names, when it names one, and the role
// plumr:access.<site>.awsRoleArn names assumed from them, when it names one). Its answers take the shapes the
// provider's data sources give; "not found" errors and empty answers become the provider's words,
// which discovery.ts reads, and any other error keeps the CLI's own words.
import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { AwsLookups, FoundInstance, vpcCidrBlocks } from "../planner/aws/found";

/** What a machine without the aws CLI is told. */
export const AWS_CLI_MISSING =
    "the aws CLI is not installed (no aws on PATH), so the AWS ids of the sites are not printed: install the AWS CLI " +
    "(https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html) and run the command again";

/** Whether an executable `aws` is on `env`'s PATH. */
export function hasAwsCli(env: NodeJS.ProcessEnv = process.env): boolean {
    return (env.PATH ?? "").split(path.delimiter).some((dir) => {
        try {
            fs.accessSync(path.join(dir || ".", "aws"), fs.constants.X_OK);
            return true;
        } catch {
            return false;
        }
    });
}

/** The one thing a lookup of one id finds, or the provider's words for none and for several. */
function one<T>(found: T[], what: string): T {
    if (found.length === 0) throw new Error(`no matching ${what} found`);
    if (found.length > 1) throw new Error(`multiple ${what}s matched; use additional constraints to reduce matches to a single ${what}`);
    return found[0];
}

/** What the CLI's JSON holds of an instance (ec2 describe-instances). */
interface CliInstance {
    SubnetId?: string;
    Placement?: { AvailabilityZone?: string };
    NetworkInterfaces?: {
        NetworkInterfaceId: string;
        SubnetId?: string;
        Attachment?: { DeviceIndex?: number; NetworkCardIndex?: number };
    }[];
    SecurityGroups?: { GroupId: string }[];
    State?: { Name?: string };
}

/** An instance as the provider's aws.ec2.getInstance gives it: its primary network interface is the one of device index 0 (on network card 0). */
function foundInstance(id: string, instance: CliInstance): FoundInstance {
    const primary = (instance.NetworkInterfaces ?? []).find(
        (i) => i.Attachment?.DeviceIndex === 0 && (i.Attachment.NetworkCardIndex ?? 0) === 0,
    );
    const subnetId = primary?.SubnetId ?? instance.SubnetId;
    const availabilityZone = instance.Placement?.AvailabilityZone;
    if (!primary || !subnetId || !availabilityZone) {
        throw new Error(`instance ${id} (${instance.State?.Name ?? "state unknown"}) has no network interface of device index 0`);
    }
    return {
        subnetId,
        availabilityZone,
        networkInterfaceId: primary.NetworkInterfaceId,
        securityGroupIds: (instance.SecurityGroups ?? []).map((g) => g.GroupId),
    };
}

/** The credentials a site's lookups run with, as its stack's provider has them. */
export interface AwsCliCredentials {
    /** The profile of ~/.aws/config (else the environment's credentials). */
    profile?: string;
    /** A role assumed from those credentials, and the name of its session. */
    role?: { roleArn: string; sessionName: string };
}

/** `aws <argv>`'s JSON answer, run with `env`; the CLI's own words (on one line) when it fails. */
function awsJson(argv: string[], env: NodeJS.ProcessEnv): Promise<any> {
    return new Promise((resolve, reject) => {
        execFile(
            "aws",
            [...argv, "--output", "json"],
            { env: { ...env, AWS_PAGER: "" }, encoding: "utf8", timeout: 2 * 60_000, maxBuffer: 64 << 20 },
            (err, stdout, stderr) => {
                if (err) {
                    if ((err as NodeJS.ErrnoException).code === "ENOENT") return reject(new Error(AWS_CLI_MISSING));
                    return reject(new Error(stderr.replace(/\s+/g, " ").trim() || err.message));
                }
                try {
                    resolve(JSON.parse(stdout));
                } catch {
                    reject(new Error(`aws ${argv.slice(0, 2).join(" ")} printed no JSON: ${stdout.slice(0, 200)}`));
                }
            },
        );
    });
}

/**
 * The environment the lookups run in: `env`, or, with a role, `aws sts
 * assume-role` once (as the profile, or the environment's credentials) and the role's temporary
 * credentials without any profile, which the CLI would prefer. A role that cannot be assumed
 * rejects every lookup with STS's words and the setting to check, never a lookup as someone else.
 */
async function lookupEnvironment(region: string, credentials: AwsCliCredentials, env: NodeJS.ProcessEnv): Promise<NodeJS.ProcessEnv> {
    const { profile, role } = credentials;
    if (!role) return env;
    const argv = ["sts", "assume-role", "--role-arn", role.roleArn, "--role-session-name", role.sessionName, "--region", region];
    let answer: any;
    try {
        answer = await awsJson([...argv, ...(profile ? ["--profile", profile] : [])], env);
    } catch (err) {
        if ((err as Error).message === AWS_CLI_MISSING) throw err;
        throw new Error(
            `could not assume role ${role.roleArn} (plumr:access.<site>.awsRoleArn): ${(err as Error).message}; check that the ` +
                `credentials of this shell${profile ? ` (profile ${profile})` : ""} may assume it (aws sts get-caller-identity shows whose they are)`,
            { cause: err },
        );
    }
    const { AccessKeyId, SecretAccessKey, SessionToken } = answer?.Credentials ?? {};
    if (!AccessKeyId || !SecretAccessKey || !SessionToken)
        throw new Error(`aws sts assume-role gave no credentials for role ${role.roleArn}`);
    const assumed: NodeJS.ProcessEnv = {
        ...env,
        AWS_ACCESS_KEY_ID: AccessKeyId,
        AWS_SECRET_ACCESS_KEY: SecretAccessKey,
        AWS_SESSION_TOKEN: SessionToken,
    };
    delete assumed.AWS_PROFILE;
    delete assumed.AWS_DEFAULT_PROFILE;
    return assumed;
}

/**
 * The lookups of a site in `region`, through the aws CLI (`aws ec2 describe-...`), with
 * `credentials` (else the environment's), run with `env` (its PATH finds `aws`).
 */
export function awsCliLookups(region: string, credentials: AwsCliCredentials = {}, env: NodeJS.ProcessEnv = process.env): AwsLookups {
    let environment: Promise<NodeJS.ProcessEnv> | undefined;
    /** `aws ec2 <call> <args>`'s JSON answer; a "not found" error throws the provider's words for `what`, any other the CLI's. */
    const ec2 = async (call: string, args: string[], what: string): Promise<any> => {
        environment ??= lookupEnvironment(region, credentials, env);
        const callEnv = await environment;
        return new Promise((resolve, reject) => {
            const argv = [
                "ec2",
                call,
                ...args,
                "--region",
                region,
                ...(credentials.profile && !credentials.role ? ["--profile", credentials.profile] : []),
                "--output",
                "json",
            ];
            execFile(
                "aws",
                argv,
                { env: { ...callEnv, AWS_PAGER: "" }, encoding: "utf8", timeout: 2 * 60_000, maxBuffer: 64 << 20 },
                (err, stdout, stderr) => {
                    if (err) {
                        if ((err as NodeJS.ErrnoException).code === "ENOENT") return reject(new Error(AWS_CLI_MISSING));
                        const said = stderr.replace(/\s+/g, " ").trim() || err.message;
                        const code = /An error occurred \(([\w.]+)\)/.exec(said)?.[1];
                        return reject(new Error(code?.endsWith(".NotFound") ? `no matching ${what} found (${code})` : said));
                    }
                    try {
                        resolve(JSON.parse(stdout));
                    } catch {
                        reject(new Error(`aws ec2 ${call} printed no JSON: ${stdout.slice(0, 200)}`));
                    }
                },
            );
        });
    };
    /** What still exists of what a describe call listed: a deleted Transit Gateway or route table stays listed for a while. */
    const live = <T extends { State?: string }>(items: T[] | undefined) => (items ?? []).filter((x) => x.State !== "deleted");
    return {
        async instance(id) {
            const what = "EC2 Instance";
            const answer = await ec2("describe-instances", ["--instance-ids", id], what);
            const instances: CliInstance[] = (answer.Reservations ?? []).flatMap((r: { Instances?: CliInstance[] }) => r.Instances ?? []);
            return foundInstance(id, one(instances, what));
        },
        async subnet(id) {
            const what = "EC2 Subnet";
            const subnet = one((await ec2("describe-subnets", ["--subnet-ids", id], what)).Subnets ?? [], what) as any;
            return { vpcId: subnet.VpcId, availabilityZone: subnet.AvailabilityZone };
        },
        async vpc(id) {
            const what = "EC2 VPC";
            const vpc = one((await ec2("describe-vpcs", ["--vpc-ids", id], what)).Vpcs ?? [], what) as any;
            const associations = (vpc.CidrBlockAssociationSet ?? []).map((b: any) => ({
                cidrBlock: b.CidrBlock,
                state: b.CidrBlockState?.State,
            }));
            return { cidrBlocks: vpcCidrBlocks(vpc.CidrBlock, associations) };
        },
        async routeTables(filters) {
            const args = ["--filters", ...filters.map((f) => `Name=${f.name},Values=${f.values.join(",")}`)];
            const answer = await ec2("describe-route-tables", args, "EC2 Route Table");
            return (answer.RouteTables ?? []).map((t: { RouteTableId: string }) => t.RouteTableId);
        },
        async transitGateway(id) {
            const what = "EC2 Transit Gateway";
            const answer = await ec2("describe-transit-gateways", ["--transit-gateway-ids", id], what);
            const gateway = one(live<any>(answer.TransitGateways), what);
            return {
                defaultAssociation: gateway.Options?.DefaultRouteTableAssociation === "enable",
                defaultRouteTableId: gateway.Options?.AssociationDefaultRouteTableId || undefined,
            };
        },
        async gatewayRouteTable(id) {
            const what = "EC2 Transit Gateway Route Table";
            const answer = await ec2("describe-transit-gateway-route-tables", ["--transit-gateway-route-table-ids", id], what);
            return { transitGatewayId: one(live<any>(answer.TransitGatewayRouteTables), what).TransitGatewayId };
        },
    };
}
