/**
 * The error type whose message `deno task course` and `deno task lab` print
 * without a stack trace.
 *
 * @module
 */

/** Exit status of a successful run. */
export const EXIT_OK = 0;
/** Exit status when a notebook raised, timed out or crashed its kernel. */
export const EXIT_NOTEBOOK_FAILED = 1;
/** Exit status for invalid options, such as an unknown `--only` name. */
export const EXIT_USAGE = 2;
/** Exit status when Python, the Jupyter packages or the Deno kernel are missing. */
export const EXIT_SETUP = 3;

/** An expected failure: its message is complete, so the command prints only the message. */
export class CourseError extends Error {
  /** Exit status of the command. */
  readonly exitCode: number;

  /** Creates the error with the message to print and the exit status to use. */
  constructor(message: string, exitCode: number) {
    super(message);
    this.name = "CourseError";
    this.exitCode = exitCode;
  }
}
