/** A flag or environment variable with a value the command cannot use: exit code 2, like invalid configuration. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
