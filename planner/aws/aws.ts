// A site's AWS side as the topology decides it, and what a stack does for each Transit Gateway
// peering. The ids the topology leaves out are found in AWS at deploy time (discovery.ts).
import type { PlacedTopology } from "../topology/schema";
import type { AwsFacts, AwsPeerPlan, AwsPeeringPlan, AwsPeeringStep, AwsPlan, AwsSiteIntent, LinkPlan } from "../types";
import { byName, endpointNodes } from "./checks";

export { checkAws } from "./checks";

/**
 * What the topology decides of every site whose routing is `transitGateway` (its pins, routed
 * nodes and peers), and the peering of every linked pair of such sites. Takes a validated topology
 * (checkAws found nothing) and its planned links.
 */
export function planAws(topology: PlacedTopology, links: LinkPlan[]): AwsPlan {
    const routed = (site: string) => topology.sites[site].aws?.routing === "transitGateway";
    const hosts = endpointNodes(topology);
    const sites: Record<string, AwsSiteIntent> = {};
    const peerings = new Map<string, AwsPeeringPlan>();
    for (const [name, site] of Object.entries(topology.sites)) {
        const aws = site.aws;
        if (!aws || !routed(name)) continue;
        const peers = new Map<string, AwsPeerPlan>();
        for (const link of links) {
            const end = link.ends.find((e) => e.site === name);
            if (!end) continue;
            const peer = link.ends.find((e) => e !== end)!;
            const requester = name < peer.site;
            const entry = peers.get(peer.site) ?? {
                site: peer.site,
                range: topology.sites[peer.site].bridgeRange,
                links: [],
                peering: routed(peer.site) ? (requester ? "requester" : "accepter") : undefined,
            };
            entry.links.push({ link: end.link, port: end.port, peerAddress: peer.address });
            peers.set(peer.site, entry);
            if (entry.peering) {
                const [r, acc] = requester ? [name, peer.site] : [peer.site, name];
                const side = (s: string) => ({ site: s, region: topology.sites[s].aws!.region, range: topology.sites[s].bridgeRange });
                peerings.set(`${r}-${acc}`, { name: `${r}-${acc}`, requester: side(r), accepter: side(acc) });
            }
        }
        const { vpcId, vpcCidr, routeTableIds, attachmentSubnets, securityGroupIds, transitGatewayRouteTableId } = aws;
        sites[name] = {
            site: name,
            region: aws.region,
            asn: aws.transitGatewayAsn,
            existingTransitGatewayId: aws.transitGatewayId,
            bridgeRange: site.bridgeRange,
            routedNodes: site.nodes.flatMap((n, index) =>
                n.instanceId
                    ? [
                          {
                              node: n.name,
                              index,
                              range: n.range,
                              instanceId: n.instanceId,
                              availabilityZone: n.availabilityZone,
                              hostsEnd: hosts.has(`${name}/${n.name}`),
                              ...(n.slot !== undefined && { slot: n.slot }),
                          },
                      ]
                    : [],
            ),
            peers: [...peers.values()].sort((x, y) => byName(x.site, y.site)),
            pins: { vpcId, vpcCidr, routeTableIds, attachmentSubnets, securityGroupIds, transitGatewayRouteTableId },
        };
    }
    return { sites, peerings: [...peerings.values()].sort((x, y) => byName(x.name, y.name)) };
}

/**
 * What a stack that deploys one side of `peering` (or both) does for it now. A side in another
 * stack is known only by what that stack published (`published`, undefined before its first run):
 * the requester requests once the accepter's Transit Gateway is published, the accepter accepts
 * once the request is, and the requester routes once the acceptance is. A stack that deploys both
 * sides does all of it in one run and waits for nothing.
 */
export function peeringStep(peering: AwsPeeringPlan, deploys: (site: string) => boolean, published?: Partial<AwsFacts>): AwsPeeringStep {
    const [r, a] = [peering.requester.site, peering.accepter.site];
    if (deploys(r) && deploys(a)) return {};
    if (deploys(r)) {
        if (!published?.transitGatewayId) {
            return {
                waitingFor: {
                    site: a,
                    reason: `site ${r} cannot request its Transit Gateway peering with ${a} yet: ${a} has not published its Transit Gateway`,
                },
            };
        }
        const { region, accountId, transitGatewayId } = published as AwsFacts;
        const acceptedAttachmentId = published.acceptedPeerings?.[r];
        return {
            accepterGateway: { region, accountId, transitGatewayId },
            acceptedAttachmentId,
            waitingFor:
                acceptedAttachmentId === undefined
                    ? {
                          site: a,
                          reason: `site ${r} requests its Transit Gateway peering with ${a}, and routes ${a}'s range through it once ${a} has accepted it`,
                      }
                    : undefined,
        };
    }
    const requestedAttachmentId = published?.peeringAttachments?.[a];
    return requestedAttachmentId === undefined
        ? {
              waitingFor: {
                  site: r,
                  reason: `site ${a} cannot accept its Transit Gateway peering with ${r} yet: ${r} has not requested it`,
              },
          }
        : { requestedAttachmentId };
}
