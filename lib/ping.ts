// What ping prints, read by npm run verify and by the local link probes.

/** What ping's summary says: packets sent and received, and the average round-trip time of the replies (ms). */
export function parsePing(output: string): { sent: number; received: number; rttMs?: number } | undefined {
    const counts = /(\d+) packets transmitted, (\d+) received/.exec(output);
    if (!counts) return undefined;
    const rtt = /= [\d.]+\/([\d.]+)\//.exec(output);
    return { sent: Number(counts[1]), received: Number(counts[2]), rttMs: rtt ? Number(rtt[1]) : undefined };
}
