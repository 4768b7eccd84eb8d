import { getLiveDirectiveArgumentValues, getLiveDirectiveNode } from '@n1ru4l/graphql-live-query';
import { DirectiveLocation, GraphQLBoolean, GraphQLDirective, GraphQLInt, type DocumentNode, type OperationDefinitionNode } from 'graphql';

/** `@live` as the contract words it; @n1ru4l/graphql-live-query reads it from operations. */
export const liveDirective = new GraphQLDirective({
  name: 'live',
  description: 'Instruction for establishing a live connection that is updated once the underlying data changes.',
  locations: [DirectiveLocation.QUERY],
  args: {
    if: { type: GraphQLBoolean, defaultValue: true, description: 'Whether the query should be live or not.' },
    throttle: { type: GraphQLInt, description: 'Proposed minimum interval between two results, in milliseconds; the server may raise it.' },
  },
});

export interface LiveOperation {
  operation: OperationDefinitionNode;
  /** The client's throttle, raised to LIVE_THROTTLE_MIN_MS. */
  throttleMs: number;
}

/** The operation that runs, when it is a query with `@live` (and `if` is not false); else null. */
export function liveOperation(
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown> | null | undefined,
  minThrottleMs: number,
): LiveOperation | null {
  const operations = document.definitions.filter((definition): definition is OperationDefinitionNode => definition.kind === 'OperationDefinition');
  const operation = operationName ? operations.find((candidate) => candidate.name?.value === operationName) : operations.length === 1 ? operations[0] : undefined;
  if (!operation || operation.operation !== 'query') return null;
  const directive = getLiveDirectiveNode(operation);
  if (!directive) return null;
  const { isLive, throttleValue } = getLiveDirectiveArgumentValues(directive, variables);
  if (!isLive) return null;
  return { operation, throttleMs: Math.max(throttleValue ?? 0, minThrottleMs) };
}
