/**
 * A change of the source the target cannot follow (or, under `schema_evolution: fail`, any change):
 * nothing was altered or loaded, and the message says what changed and how to recover.
 */
export class SchemaDriftError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SchemaDriftError';
  }
}
