/**
 * Notebook files of the course: the nbformat 4 types the build reads, the
 * list of course notebooks and the course settings in their metadata.
 *
 * @module
 */

import { basename, join } from "node:path";

/** Multiline text as nbformat stores it: one string or a list of lines. */
export type MultilineText = string | string[];

/** One output of a code cell (nbformat 4). */
export interface NotebookOutput {
  output_type: "stream" | "display_data" | "execute_result" | "error" | string;
  /** Stream name, `stdout` or `stderr`. */
  name?: string;
  /** Stream text. */
  text?: MultilineText;
  /** MIME bundle of a display_data or execute_result output. */
  data?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
  execution_count?: number | null;
  ename?: string;
  evalue?: string;
  traceback?: string[];
}

/** One notebook cell (nbformat 4). */
export interface NotebookCell {
  cell_type: "markdown" | "code" | "raw" | string;
  id?: string;
  source: MultilineText;
  metadata?: Record<string, unknown>;
  outputs?: NotebookOutput[];
  execution_count?: number | null;
  /** Files embedded in a markdown cell: name to MIME bundle of base64 data. */
  attachments?: Record<string, Record<string, string>>;
}

/** A notebook document (nbformat 4). */
export interface Notebook {
  cells: NotebookCell[];
  metadata: Record<string, unknown>;
  nbformat: number;
  nbformat_minor: number;
}

/**
 * Course settings read from the notebook metadata key `course`, for example
 * `"course": {"allow_errors": true, "goal": "Write attention yourself."}`.
 */
export interface CourseSettings {
  /** Run with `--allow-errors`, for exercise notebooks whose cells raise until solved. */
  allowErrors: boolean;
  /** One-line goal for the index, in Markdown; by default the first paragraph. */
  goal: string | null;
}

/** A notebook of the course, before execution. */
export interface CourseNotebook {
  /** File name, such as `01-challenge-0-solution.ipynb`. */
  fileName: string;
  /** File name without `.ipynb`; the build's files are named after it. */
  stem: string;
  /** Absolute path of the source notebook. */
  path: string;
  /** Parsed source notebook. */
  notebook: Notebook;
  settings: CourseSettings;
}

/** Joins nbformat multiline text into one string. */
export function joinText(text: MultilineText | undefined): string {
  if (text === undefined) return "";
  return Array.isArray(text) ? text.join("") : text;
}

/**
 * Reads the `course` metadata of a notebook.
 *
 * @throws {TypeError} If `course.allow_errors` is not a boolean or `course.goal` not a string.
 */
export function readCourseSettings(
  notebook: Notebook,
  fileName: string,
): CourseSettings {
  const course = notebook.metadata?.course;
  if (course === undefined) return { allowErrors: false, goal: null };
  if (typeof course !== "object" || course === null || Array.isArray(course)) {
    throw new TypeError(
      `${fileName}: metadata "course" must be an object such as {"allow_errors": true}, ` +
        `received ${JSON.stringify(course)}.`,
    );
  }
  const { allow_errors: allowErrors = false, goal = null } = course as Record<
    string,
    unknown
  >;
  if (typeof allowErrors !== "boolean") {
    throw new TypeError(
      `${fileName}: metadata "course.allow_errors" must be true or false, ` +
        `received ${JSON.stringify(allowErrors)}.`,
    );
  }
  if (goal !== null && typeof goal !== "string") {
    throw new TypeError(
      `${fileName}: metadata "course.goal" must be a string, received ${
        JSON.stringify(goal)
      }.`,
    );
  }
  return { allowErrors, goal };
}

/**
 * Parses notebook JSON and checks the fields the build relies on.
 *
 * @throws {TypeError} If the text is not JSON or not an nbformat 4 notebook.
 */
export function parseNotebook(text: string, fileName: string): Notebook {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new TypeError(
      `${fileName} is not valid JSON (${
        (error as Error).message
      }). Open it in Jupyter and save it again.`,
    );
  }
  const notebook = value as Partial<Notebook>;
  if (
    typeof value !== "object" || value === null ||
    !Array.isArray(notebook.cells) || notebook.nbformat !== 4
  ) {
    throw new TypeError(
      `${fileName} is not an nbformat 4 notebook: expected an object with "cells" ` +
        `and "nbformat": 4, received nbformat ${
          JSON.stringify(notebook?.nbformat)
        }.`,
    );
  }
  notebook.metadata ??= {};
  return notebook as Notebook;
}

/** Lists the `.ipynb` files of a directory, sorted by name. */
export async function listNotebookFiles(directory: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(directory)) {
    if (entry.isFile && entry.name.endsWith(".ipynb")) names.push(entry.name);
  }
  return names.sort();
}

/**
 * Reads every notebook of a directory in file-name order, with its course settings.
 *
 * @throws {TypeError} If a notebook is not valid nbformat 4 or has invalid course metadata.
 */
export async function readCourseNotebooks(
  directory: string,
): Promise<CourseNotebook[]> {
  const notebooks: CourseNotebook[] = [];
  for (const fileName of await listNotebookFiles(directory)) {
    const path = join(directory, fileName);
    const notebook = parseNotebook(await Deno.readTextFile(path), fileName);
    notebooks.push({
      fileName,
      stem: basename(fileName, ".ipynb"),
      path,
      notebook,
      settings: readCourseSettings(notebook, fileName),
    });
  }
  return notebooks;
}
