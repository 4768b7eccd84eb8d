import { GraphQLError, Kind, visit, type DocumentNode, type ValueNode, type VariableDefinitionNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { badInput } from '../errors.js';

/**
 * Deepest nesting of an input value (a JSON `data`, a list). Serialising a
 * deeper one for the database (JSON.stringify recurses) exhausts the stack,
 * and no field of the schema needs more than a few levels.
 */
export const MAX_INPUT_DEPTH = 100;

/**
 * U+0000 (PostgreSQL text and jsonb cannot store it) or a lone UTF-16
 * surrogate (not a character: the drivers would store U+FFFD instead of
 * what was sent).
 */
const MALFORMED_TEXT = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

interface Problem {
  path: string;
  why: string;
}

type Pending = { kind: 'raw'; value: unknown; path: string; depth: number } | { kind: 'literal'; node: ValueNode; path: string; depth: number };

const join = (path: string, key: string) => (path === '' ? key : `${path}.${key}`);

/** What firstProblem() needs of a document: its argument values and variable definitions. */
interface DocumentArguments {
  pending: readonly Pending[];
  defaults: ReadonlyMap<string, VariableDefinitionNode>;
}

/**
 * Per parsed document (the document cache hands the same object for the same
 * query text): walking the AST cost more than the rest of the check.
 */
const argumentsByDocument = new WeakMap<DocumentNode, DocumentArguments>();

function argumentsOf(document: DocumentNode): DocumentArguments {
  const known = argumentsByDocument.get(document);
  if (known) return known;
  const defaults = new Map<string, VariableDefinitionNode>();
  const pending: Pending[] = [];
  visit(document, {
    VariableDefinition(node) {
      defaults.set(node.variable.name.value, node);
      return false;
    },
    Argument(node) {
      pending.push({ kind: 'literal', node: node.value, path: node.name.value, depth: 0 });
      return false;
    },
  });
  const found = { pending, defaults };
  argumentsByDocument.set(document, found);
  return found;
}

/**
 * The first argument value (inline or through a variable) the database could
 * not store as sent. Iterative, and each variable is read once, so a hostile
 * document or variable costs time linear in its size and no stack.
 */
function firstProblem(document: DocumentNode, variables: Record<string, unknown> | null | undefined): Problem | null {
  const { pending: found, defaults } = argumentsOf(document);
  if (found.length === 0) return null;
  const pending = [...found];
  const expanded = new Set<string>();
  while (pending.length > 0) {
    const item = pending.pop()!;
    if (item.depth > MAX_INPUT_DEPTH) return { path: item.path, why: `nests deeper than ${MAX_INPUT_DEPTH} levels` };
    const next = item.depth + 1;
    if (item.kind === 'raw') {
      const value = item.value;
      if (typeof value === 'string') {
        if (MALFORMED_TEXT.test(value)) return { path: item.path, why: 'must be valid Unicode text without NUL characters' };
      } else if (Array.isArray(value)) {
        for (const element of value) pending.push({ kind: 'raw', value: element, path: item.path, depth: next });
      } else if (typeof value === 'object' && value !== null) {
        for (const [key, field] of Object.entries(value)) {
          if (MALFORMED_TEXT.test(key)) return { path: item.path, why: 'must be valid Unicode text without NUL characters' };
          pending.push({ kind: 'raw', value: field, path: join(item.path, key), depth: next });
        }
      }
      continue;
    }
    const node = item.node;
    switch (node.kind) {
      case Kind.STRING:
        if (MALFORMED_TEXT.test(node.value)) return { path: item.path, why: 'must be valid Unicode text without NUL characters' };
        break;
      case Kind.INT:
      case Kind.FLOAT:
        // A literal like 1e400 would become Infinity, which JSON stores as null.
        if (!Number.isFinite(Number(node.value))) return { path: item.path, why: 'is not a finite number' };
        break;
      case Kind.LIST:
        for (const element of node.values) pending.push({ kind: 'literal', node: element, path: item.path, depth: next });
        break;
      case Kind.OBJECT:
        for (const field of node.fields) pending.push({ kind: 'literal', node: field.value, path: join(item.path, field.name.value), depth: next });
        break;
      case Kind.VARIABLE: {
        const name = node.name.value;
        if (expanded.has(name)) break;
        expanded.add(name);
        if (variables && Object.hasOwn(variables, name)) pending.push({ kind: 'raw', value: variables[name], path: item.path, depth: item.depth });
        else {
          const fallback = defaults.get(name)?.defaultValue;
          if (fallback) pending.push({ kind: 'literal', node: fallback, path: item.path, depth: item.depth });
        }
        break;
      }
      default:
        break;
    }
  }
  return null;
}

/**
 * Refuses, as BAD_USER_INPUT before anything runs, input that would otherwise
 * reach the database and fail there (an internal error) or be stored other
 * than sent: NUL characters, lone surrogates, non-finite numbers, values
 * nested deeper than MAX_INPUT_DEPTH, and documents nested too deeply to
 * parse. One check at the edge covers every
 * argument of every field, on every transport (transport/graphql-ws.ts runs graphql-ws
 * operations through the same envelop).
 */
export function useWellFormedInput(): Plugin {
  return {
    onParse({ parseFn, setParseFn }) {
      // graphql-js parses recursively: ~2,000 nested lists or selections (a 4 KiB document, within
      // MAX_QUERY_TOKENS) exhaust the stack before any limit is reached. That is a document we refuse,
      // not an internal error.
      setParseFn((source, options) => {
        try {
          return parseFn(source, options);
        } catch (error) {
          if (error instanceof RangeError) throw new GraphQLError('Syntax Error: the document nests too deeply.', { extensions: { code: 'GRAPHQL_PARSE_FAILED' } });
          throw error;
        }
      });
    },
    onExecute({ args, setResultAndStopExecution }) {
      const problem = firstProblem(args.document, args.variableValues);
      if (problem) setResultAndStopExecution({ errors: [badInput(problem.path, problem.why)] });
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const problem = firstProblem(args.document, args.variableValues);
      if (problem) setResultAndStopExecution({ errors: [badInput(problem.path, problem.why)] });
    },
  };
}
