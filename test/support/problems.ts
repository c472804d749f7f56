// Assertions on the problems a ConfigError lists: the field, the value, the message and the fix.
import * as assert from "assert";
import { ConfigError, Problem } from "../../planner/problems/errors";

/** Runs `fn`, which must throw a ConfigError, and returns its problems. */
export function problemsOf(fn: () => unknown): { problems: Problem[]; message: string } {
    try {
        fn();
    } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        return { problems: err.problems, message: err.message };
    }
    return assert.fail("expected a ConfigError, but nothing was thrown");
}

export interface Expected {
    /** The problem's value must deep-equal this (when the key is present). */
    value?: unknown;
    /** The problem's message must match. */
    message?: RegExp;
    /** The problem's fix must match. */
    fix?: RegExp;
}

/**
 * Asserts that `fn` throws a ConfigError with a problem for `field` (matching `expected`), that its
 * fix is not empty, and that the error's message names the field. Returns the problem.
 */
export function expectProblem(fn: () => unknown, field: string, expected: Expected = {}): Problem {
    const { problems, message } = problemsOf(fn);
    const candidates = problems.filter(
        (p) =>
            p.field === field &&
            (expected.message === undefined || expected.message.test(p.message)) &&
            (expected.fix === undefined || expected.fix.test(p.fix)),
    );
    assert.ok(
        candidates.length > 0,
        `no problem for ${field}${expected.message ? ` matching ${expected.message}` : ""}; got:\n${JSON.stringify(problems, null, 2)}`,
    );
    const problem = candidates[0];
    if ("value" in expected) assert.deepStrictEqual(problem.value, expected.value);
    assert.ok(problem.fix.trim().length > 0, `the problem for ${field} has no fix`);
    assert.ok(message.includes(field), `the error message does not name ${field}:\n${message}`);
    return problem;
}

/** Like expectProblem, for a run that must reject with a ConfigError (the program under mocks). */
export async function expectRejection(run: Promise<unknown>, field: string, expected: Expected = {}): Promise<Problem> {
    let error: unknown;
    try {
        await run;
    } catch (err) {
        error = err;
    }
    if (error === undefined) return assert.fail("expected a ConfigError, but the run succeeded");
    return expectProblem(
        () => {
            throw error;
        },
        field,
        expected,
    );
}

/** Awaits `promise`, which must reject with a ConfigError, and returns that error. */
export async function rejection(promise: Promise<unknown>): Promise<ConfigError> {
    try {
        await promise;
    } catch (err) {
        assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${err}`);
        return err;
    }
    return assert.fail("the program accepted a configuration it must reject");
}
