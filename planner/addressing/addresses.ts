import * as ipaddr from "ipaddr.js";

/** An IPv4 network as numbers, so that containment and overlap are plain comparisons. */
export interface Cidr {
    /** Network address as an unsigned 32-bit number. */
    network: number;
    prefixLength: number;
    /** Number of addresses in the network. */
    size: number;
}

/** Parses `a.b.c.d` strictly (no shorthand like `10.1`), or returns undefined. */
export function parseIp(text: unknown): number | undefined {
    if (typeof text !== "string" || !ipaddr.IPv4.isValidFourPartDecimal(text)) return undefined;
    return toNumber(ipaddr.IPv4.parse(text));
}

export type CidrResult = { cidr: Cidr } | { error: string; fix: string };

/** Parses `a.b.c.d/n` and insists that it names a network (no host bits set). */
export function parseCidr(text: unknown): CidrResult {
    const example = "write it as network/prefix, e.g. 10.10.1.0/24";
    if (typeof text !== "string" || !ipaddr.IPv4.isValidCIDRFourPartDecimal(text)) {
        return { error: "not an IPv4 CIDR", fix: example };
    }
    const [address, prefixLength] = ipaddr.IPv4.parseCIDR(text);
    const network = toNumber(ipaddr.IPv4.networkAddressFromCIDR(text));
    if (toNumber(address) !== network) {
        const canonical = `${formatIp(network)}/${prefixLength}`;
        return { error: "host bits are set, so it is an address, not a network", fix: `did you mean ${canonical}?` };
    }
    return { cidr: { network, prefixLength, size: 2 ** (32 - prefixLength) } };
}

export function formatIp(value: number): string {
    return ipaddr.fromByteArray([value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255]).toString();
}

export function formatCidr(cidr: Cidr): string {
    return `${formatIp(cidr.network)}/${cidr.prefixLength}`;
}

export function contains(outer: Cidr, address: number): boolean {
    return address >= outer.network && address < outer.network + outer.size;
}

export function containsCidr(outer: Cidr, inner: Cidr): boolean {
    return contains(outer, inner.network) && inner.prefixLength >= outer.prefixLength;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
    return contains(a, b.network) || contains(b, a.network);
}

export function broadcast(cidr: Cidr): number {
    return cidr.network + cidr.size - 1;
}

/** The address the bridge plugin (isGateway) gives the node's bridge: the first host address. */
export function gateway(cidr: Cidr): number {
    return cidr.network + 1;
}

/** The `index`-th subnet of `prefixLength` inside `pool`, or undefined when the pool is too small. */
export function nthSubnet(pool: Cidr, prefixLength: number, index: number): Cidr | undefined {
    const size = 2 ** (32 - prefixLength);
    if (prefixLength < pool.prefixLength || (index + 1) * size > pool.size) return undefined;
    return { network: pool.network + index * size, prefixLength, size };
}

/** How many subnets of `prefixLength` fit in `pool`. */
export function subnetCount(pool: Cidr, prefixLength: number): number {
    return prefixLength < pool.prefixLength ? 0 : pool.size / 2 ** (32 - prefixLength);
}

function toNumber(address: ipaddr.IPv4): number {
    const [a, b, c, d] = address.toByteArray();
    return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}
