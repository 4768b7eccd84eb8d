/**
 * One value per event object however many subscribers ask for it. A process
 * hands the same event object to all its subscribers of a channel, so their
 * payloads are then the same object too, and shared execution runs once.
 */
export function perEvent<Event extends object, Value>(build: (event: Event) => Value): (event: Event) => Value {
  const values = new WeakMap<Event, Value>();
  return (event) => {
    if (values.has(event)) return values.get(event)!;
    const value = build(event);
    values.set(event, value);
    return value;
  };
}
