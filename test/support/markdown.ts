// Reading the repository's Markdown as GitHub renders it, for the link check and the README's
// check: which lines are code, the inline code spans, the links, and the anchors a page's headings
// get (GitHub's slugs).
import * as fs from "fs";
import * as path from "path";

/** Directories never searched for Markdown: installed packages, built and generated files, Git's own. */
const SKIPPED_DIRS = new Set(["node_modules", ".cache", ".git"]);

/** Every Markdown file under `root`, relative to it, sorted. */
export function markdownFiles(root: string, dir = ""): string[] {
    const found: string[] = [];
    for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
        const rel = path.join(dir, entry.name);
        if (entry.isDirectory()) {
            if (!SKIPPED_DIRS.has(entry.name)) found.push(...markdownFiles(root, rel));
        } else if (entry.name.endsWith(".md")) found.push(rel);
    }
    return found.sort();
}

/** One line of a Markdown file: its number (from 1), its text, and the fenced code block it is in, if any (its info string). */
export interface MarkdownLine {
    number: number;
    text: string;
    /** The fence's info string (`sh`, `yaml`, or "" for a bare fence) when the line is inside a fenced code block. */
    code?: string;
}

/** The lines of `text`, each marked with the fenced code block it is in; fence lines themselves are neither prose nor code. */
export function markdownLines(text: string): (MarkdownLine & { fence?: boolean })[] {
    let fence: { marker: string; info: string } | undefined;
    return text.split("\n").map((line, i) => {
        const number = i + 1;
        const opening = /^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)/.exec(line);
        if (!fence && opening) {
            fence = { marker: opening[1], info: opening[2] };
            return { number, text: line, fence: true };
        }
        if (fence && new RegExp(`^ {0,3}${fence.marker[0]}{${fence.marker.length},}\\s*$`).test(line)) {
            fence = undefined;
            return { number, text: line, fence: true };
        }
        return { number, text: line, code: fence?.info };
    });
}

/** The inline code spans of one line of prose (backtick runs of any length, as CommonMark matches them). */
export function inlineCode(line: string): string[] {
    const spans: string[] = [];
    const re = /(`+)([\s\S]*?[^`])\1(?!`)/g;
    for (let m = re.exec(line); m; m = re.exec(line)) spans.push(m[2].trim());
    return spans;
}

/** One link of a Markdown file: where it is, and its target as written. */
export interface MarkdownLink {
    line: number;
    target: string;
}

/** The links of `text` outside code: inline links and images `[text](target "title")`, autolinks `<https://…>`, and reference definitions `[label]: target`. */
export function markdownLinks(text: string): MarkdownLink[] {
    const links: MarkdownLink[] = [];
    for (const line of markdownLines(text)) {
        if (line.code !== undefined || line.fence) continue;
        // Code spans are not links, but a link's text may be one: keep the brackets, drop the code.
        const prose = line.text.replace(/(`+)([\s\S]*?[^`])\1(?!`)/g, "code");
        for (const m of prose.matchAll(/\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+("[^"]*"|'[^']*'))?\s*\)/g))
            links.push({ line: line.number, target: m[1].replace(/^<|>$/g, "") });
        for (const m of prose.matchAll(/<(https?:\/\/[^>\s]+)>/g)) links.push({ line: line.number, target: m[1] });
        const definition = /^ {0,3}\[[^\]]+\]:\s*(\S+)/.exec(prose);
        if (definition) links.push({ line: line.number, target: definition[1] });
    }
    return links;
}

/**
 * The anchor GitHub gives a heading: its text as rendered (code spans, emphasis and link targets
 * gone), lower-cased, with every character but letters, digits, spaces, hyphens and underscores
 * removed, and each space a hyphen.
 */
export function githubSlug(heading: string): string {
    // Code spans render as written (a `<stack>` in one stays); outside them, HTML tags and emphasis go.
    const rendered = heading
        .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
        .split(/(`+[^`]*`+)/)
        .map((part, i) =>
            i % 2 === 1 ? part.replace(/`+/g, "") : part.replace(/<[^>]+>/g, "").replace(/(\*\*|__|\*|_)(\S(?:.*?\S)?)\1/g, "$2"),
        )
        .join("");
    return rendered
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\p{M} _-]/gu, "")
        .replace(/ /g, "-");
}

/** The anchors of a Markdown file's headings, as GitHub makes them: a repeated slug gets `-1`, `-2`, … */
export function headingAnchors(text: string): Set<string> {
    const anchors = new Set<string>();
    const seen = new Map<string, number>();
    for (const line of markdownLines(text)) {
        if (line.code !== undefined || line.fence) continue;
        const heading = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+\s*)?$/.exec(line.text);
        if (!heading) continue;
        const slug = githubSlug(heading[1]);
        const n = seen.get(slug) ?? 0;
        anchors.add(n === 0 ? slug : `${slug}-${n}`);
        seen.set(slug, n + 1);
    }
    return anchors;
}

/**
 * The broken links of Markdown file `file` (relative to `root`), each as `<file>:<line>: <target>: <why>`:
 * a relative link to a file or directory that does not exist, an anchor that no heading of its
 * Markdown target (or of the file itself) has, or an external link that is not a well-formed
 * http(s) URL. External links are checked for their form only.
 */
export function brokenLinks(root: string, file: string, text = fs.readFileSync(path.join(root, file), "utf8")): string[] {
    const problems: string[] = [];
    const anchorsOf = new Map<string, Set<string>>();
    const anchors = (target: string) => {
        if (!anchorsOf.has(target))
            anchorsOf.set(target, headingAnchors(target === file ? text : fs.readFileSync(path.join(root, target), "utf8")));
        return anchorsOf.get(target)!;
    };
    for (const { line, target } of markdownLinks(text)) {
        const where = `${file}:${line}: ${target}`;
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) {
            if (/^mailto:[^@\s]+@[^@\s]+$/.test(target)) continue;
            let url: URL | undefined;
            try {
                url = new URL(target);
            } catch {
                url = undefined;
            }
            if (!url || !/^https?:$/.test(url.protocol) || !/^[a-z0-9.-]+\.[a-z]{2,}$/i.test(url.hostname))
                problems.push(`${where}: not a well-formed http(s) link`);
            continue;
        }
        const [pathPart, anchor] = target.split("#", 2) as [string, string | undefined];
        let resolved = file;
        if (pathPart !== "") {
            const decoded = decodeURIComponent(pathPart);
            resolved = path.normalize(decoded.startsWith("/") ? decoded.slice(1) : path.join(path.dirname(file), decoded));
            if (resolved.startsWith("..") || !fs.existsSync(path.join(root, resolved))) {
                problems.push(`${where}: no file or directory ${resolved} in the repository`);
                continue;
            }
        }
        if (anchor === undefined) continue;
        if (!resolved.endsWith(".md") || fs.statSync(path.join(root, resolved)).isDirectory()) {
            problems.push(`${where}: an anchor into ${resolved}, which is not a Markdown page`);
            continue;
        }
        if (!anchors(resolved).has(decodeURIComponent(anchor).toLowerCase()))
            problems.push(`${where}: ${resolved} has no heading with anchor #${anchor}`);
    }
    return problems;
}
