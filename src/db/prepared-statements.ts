import pg from 'pg';

/**
 * Distinct statement texts that get a name; past this, statements run unnamed
 * (planned on every execution, as before). Each name is prepared at most once
 * per connection, so this also bounds what every backend keeps.
 */
const MAX_NAMED_STATEMENTS = 1000;

const names = new Map<string, string>();

/** The statement's name, the same in every connection of this process; null once the cap is reached. */
function nameOf(text: string): string | null {
  let name = names.get(text);
  if (name === undefined) {
    if (names.size >= MAX_NAMED_STATEMENTS) return null;
    name = `s${names.size + 1}`;
    names.set(text, name);
  }
  return name;
}

/**
 * A pg client that runs each parameterized statement as a named prepared
 * statement: the backend parses and plans it once per connection instead of
 * on every execution. Our statements are few and fixed (kysely compiles a
 * query shape to the same text, values travel as parameters), and parsing and
 * planning them was about a third of the database's CPU per notification
 * (pgbench, this machine). Statements without parameters (BEGIN, COMMIT,
 * migrations, several statements in one string) stay simple queries.
 *
 * kysely calls `query(text, values)`; every other call passes through as is.
 */
export class PreparingClient extends pg.Client {
  constructor(config?: string | pg.ClientConfig) {
    super(config);
    // pg's overloads of query cannot be restated as one override: the instance's own query forwards to them.
    const query = this.query.bind(this) as (...args: unknown[]) => unknown;
    this.query = ((...args: unknown[]) => {
      const [text, values, callback] = args;
      if (typeof text === 'string' && Array.isArray(values) && values.length > 0 && callback === undefined) {
        const name = nameOf(text);
        if (name !== null) return query({ name, text, values });
      }
      return query(...args);
    }) as typeof this.query;
  }
}
