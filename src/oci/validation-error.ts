// Turns zod issues into messages that name the JSON path of each bad field,
// e.g. `linux.devices[2].major: expected integer, received string`.

import type { z } from 'zod';
import { describeValue } from './integers.js';

type Issue = z.core.$ZodIssue;
type PathKey = PropertyKey;

/** One problem found in a spec: where it is and what is wrong. */
export interface SpecProblem {
  /** JSON path such as `linux.devices[2].major` (empty for the document itself). */
  path: string;
  message: string;
}

/** Thrown when a config.json (or part of one) does not match the OCI runtime spec. */
export class SpecValidationError extends Error {
  readonly problems: SpecProblem[];

  constructor(problems: SpecProblem[], what = 'OCI runtime spec') {
    const lines = problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message));
    super(`invalid ${what}: ${lines.join('; ')}`);
    this.name = 'SpecValidationError';
    this.problems = problems;
  }
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * Formats a path as JavaScript-style accessors: identifiers with dots,
 * array indices in brackets, other keys (annotation names with dots or
 * slashes) as quoted strings in brackets. `prefix` is prepended, for
 * validating a fragment that lives inside a larger document.
 */
export function formatPath(path: readonly PathKey[], prefix = ''): string {
  let out = prefix;
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && IDENTIFIER.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

/** Follows `path` into `root`; reports whether the last key is missing from its parent. */
function isMissing(root: unknown, path: readonly PathKey[]): boolean {
  let node: unknown = root;
  for (let i = 0; i < path.length; i++) {
    if (node === null || typeof node !== 'object') return false;
    const key = path[i] as string | number;
    if (i === path.length - 1) return !Object.prototype.hasOwnProperty.call(node, key);
    node = (node as Record<string | number, unknown>)[key];
  }
  return false;
}

function valueAt(root: unknown, path: readonly PathKey[]): unknown {
  let node: unknown = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[key as string | number];
  }
  return node;
}

const TYPE_NAMES: Record<string, string> = {
  int: 'integer',
  record: 'object',
  map: 'object',
};

/** The message for one issue, without the path. `input` is the whole document. */
export function describeIssue(issue: Issue, input: unknown): string {
  switch (issue.code) {
    case 'invalid_type': {
      if (issue.path.length > 0 && isMissing(input, issue.path)) return 'required';
      const expected = TYPE_NAMES[issue.expected] ?? issue.expected;
      return `expected ${expected}, received ${describeValue(valueAt(input, issue.path))}`;
    }
    case 'invalid_value': {
      const options = issue.values.map((v) => JSON.stringify(v)).join(', ');
      return `expected one of ${options}, received ${describeReceived(valueAt(input, issue.path))}`;
    }
    case 'too_small':
      if (issue.origin === 'array') return `expected at least ${issue.minimum} item(s)`;
      return issue.message;
    case 'too_big':
      if (issue.origin === 'array') return `expected at most ${issue.maximum} item(s)`;
      return issue.message;
    case 'custom':
      if (issue.path.length > 0 && isMissing(input, issue.path) && !issue.message.startsWith('required')) {
        return 'required';
      }
      return issue.message;
    default:
      return issue.message;
  }
}

function describeReceived(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : describeValue(v);
}

/** Converts zod issues to problems with formatted paths. */
export function problemsFromIssues(issues: readonly Issue[], input: unknown, prefix = ''): SpecProblem[] {
  return issues.map((issue) => ({
    path: formatPath(issue.path, prefix),
    message: describeIssue(issue, input),
  }));
}
