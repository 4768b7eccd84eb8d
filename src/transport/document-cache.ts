import type { DocumentNode, GraphQLSchema, ValidationRule } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/** Documents and parse errors kept, together at most; the same bound as Yoga's own cache. */
const MAX_DOCUMENTS = 1024;
/** Characters of document text kept, at most: a count alone would let large documents pin a lot of memory. */
const MAX_DOCUMENT_CHARS = 16 * 1024 * 1024;
/** Distinct (schema, rules) combinations whose results are kept; this server validates with one. */
const MAX_RULE_SETS = 16;

/**
 * Parses and validates each document text once, in place of Yoga's
 * parser-and-validation cache (`parserAndValidationCache: false`), for
 * every transport. Yoga's keys its validation results by the names of
 * all ~30 rules, joined on every request (a few per cent of a request's
 * CPU); here a rule set is found by the identity of its rules, which is
 * also stricter: two rules of the same name are not the same rule.
 * Must come after every plugin that adds a validation rule.
 */
export function useDocumentCache(): Plugin {
  // A text parses to the same document, or fails with the same error, every time.
  const parsed = new BoundedCache<DocumentNode | Error>(MAX_DOCUMENTS, MAX_DOCUMENT_CHARS);
  const ruleSets: RuleSet[] = [];

  function resultsOf(schema: GraphQLSchema, rules: readonly ValidationRule[] | undefined): RuleSet['results'] | null {
    for (const set of ruleSets) if (set.schema === schema && sameRules(set.rules, rules)) return set.results;
    if (ruleSets.length >= MAX_RULE_SETS) return null;
    const set: RuleSet = { schema, rules: rules && [...rules], results: new WeakMap() };
    ruleSets.push(set);
    return set.results;
  }

  return {
    onParse({ params, setParsedDocument }) {
      const text = params.source.toString();
      const known = parsed.get(text);
      if (known instanceof Error) throw known;
      if (known) return setParsedDocument(known);
      return ({ result }) => {
        if (result) parsed.set(text, result);
      };
    },
    onValidate({ params: { schema, documentAST, rules }, setResult }) {
      if (!schema) return;
      const results = resultsOf(schema, rules);
      const known = results?.get(documentAST);
      if (known) return setResult(known);
      return ({ result }) => results?.set(documentAST, result);
    },
  };
}

interface RuleSet {
  schema: GraphQLSchema;
  rules: readonly ValidationRule[] | undefined;
  results: WeakMap<DocumentNode, readonly Error[]>;
}

function sameRules(a: readonly ValidationRule[] | undefined, b: readonly ValidationRule[] | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  return a.every((rule, index) => rule === b[index]);
}

/** A Map in insertion order as an LRU: a hit moves to the end, the oldest go first. */
class BoundedCache<V> {
  private readonly entries = new Map<string, V>();
  private chars = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxChars: number,
  ) {}

  get(key: string): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  set(key: string, value: V): void {
    if (key.length > this.maxChars) return;
    if (this.entries.delete(key)) this.chars -= key.length;
    this.entries.set(key, value);
    this.chars += key.length;
    while (this.entries.size > this.maxEntries || this.chars > this.maxChars) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
      this.chars -= oldest.length;
    }
  }
}
