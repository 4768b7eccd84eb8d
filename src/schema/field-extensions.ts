/**
 * The field extensions the schema declares for the subscription delivery
 * engine (src/delivery/), which reads them: the engine imports this module,
 * the schema never imports the engine.
 */

/**
 * For fields whose value depends on who asks (an unread count of the viewer,
 * say): `extensions: { [PER_VIEWER]: true }`. An operation that selects one is
 * shared only between subscriptions of the same viewer.
 */
export const PER_VIEWER = 'perViewer';

/**
 * Root subscription field extension: `extensions: { [FANOUT]: (args, context) => key | null }`.
 * Subscribers of the field with the same key (and the same document and
 * variables) receive the same stream by construction (same events, same
 * filtering, nothing per subscriber), so one group may serve them all; null
 * keeps a subscriber on its own stream (e.g. one that replays from `since`).
 */
export const FANOUT = 'fanout';
export type FanoutKey = (args: Record<string, unknown>, context: unknown) => string | null;
