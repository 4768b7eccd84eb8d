import {
  GraphQLError,
  Kind,
  type ASTVisitor,
  type FragmentDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';

/** Introspection has its own switch (INTROSPECTION); GraphiQL's query must not trip the limit. */
const INTROSPECTION_ROOTS = new Set(['__schema', '__type']);

/**
 * At most `max` fields selected per operation, counted as executed: a
 * fragment counts every time it is spread. No maintained plugin counts
 * fields (graphql-armor bounds depth, aliases, tokens and a weighted cost),
 * and "fields selected" is what CONTRACT.md "Limits" promises.
 */
export function maxFieldsRule(max: number): ValidationRule {
  return (context: ValidationContext): ASTVisitor => {
    const fragmentSizes = new Map<string, number>();

    /** Counting stops just past the limit, so a fragment bomb costs no more than `max` steps per spread. */
    const count = (selectionSet: SelectionSetNode, visiting: Set<string>): number => {
      let total = 0;
      for (const selection of selectionSet.selections) {
        if (total > max) break;
        if (selection.kind === Kind.FIELD) {
          if (INTROSPECTION_ROOTS.has(selection.name.value)) continue;
          total += 1 + (selection.selectionSet ? count(selection.selectionSet, visiting) : 0);
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          total += count(selection.selectionSet, visiting);
        } else {
          total += fragmentSize(context.getFragment(selection.name.value), visiting);
        }
      }
      return total;
    };

    const fragmentSize = (fragment: FragmentDefinitionNode | null | undefined, visiting: Set<string>): number => {
      // Unknown and cyclic fragments are reported by graphql's own rules.
      if (!fragment || visiting.has(fragment.name.value)) return 0;
      const known = fragmentSizes.get(fragment.name.value);
      if (known !== undefined) return known;
      visiting.add(fragment.name.value);
      const size = count(fragment.selectionSet, visiting);
      visiting.delete(fragment.name.value);
      fragmentSizes.set(fragment.name.value, size);
      return size;
    };

    return {
      OperationDefinition(operation) {
        const fields = count(operation.selectionSet, new Set());
        if (fields > max) {
          const name = operation.name ? ` ${operation.name.value}` : '';
          context.reportError(
            new GraphQLError(`Operation${name} selects more than ${max} fields`, {
              nodes: [operation],
              extensions: { code: 'GRAPHQL_VALIDATION_FAILED', limit: 'fields', max },
            }),
          );
        }
      },
    };
  };
}
