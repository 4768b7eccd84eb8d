import pg from 'pg';

/**
 * Distinct statement texts that get a name; past this, statements run unnamed
 * (planned on every execution, as before). Each name is prepared at most once
 * per connection, so this also bounds what every backend keeps.
 */
const MAX_NAMED_STATEMENTS = 1000;

/** A named statement: its name, the same in every connection of this process, and its text. */
interface Statement {
  readonly name: string;
  readonly text: string;
}

const statements = new Map<string, Statement>();

/** The statement of this text; null once the cap is reached. */
function statementOf(text: string): Statement | null {
  let statement = statements.get(text);
  if (statement === undefined) {
    if (statements.size >= MAX_NAMED_STATEMENTS) return null;
    statement = { name: `s${statements.size + 1}`, text };
    statements.set(text, statement);
  }
  return statement;
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
        const statement = statementOf(text);
        // pg copies a query config through its property descriptors (about 2 µs for three own
        // properties); one that inherits name and text from its statement has none to copy.
        if (statement !== null) return query(Object.create(statement) as Statement, values);
      }
      return query(...args);
    }) as typeof this.query;
  }
}
