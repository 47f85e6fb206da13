/**
 * The output directory of the course build: checks that it is safe to write,
 * writes files atomically and keeps a manifest of the files the build wrote.
 *
 * The build writes only files it lists in the manifest
 * ({@linkcode MANIFEST_NAME}), and removes only files that an earlier build
 * listed there. A non-empty directory without a manifest is rejected, so the
 * build never overwrites files it did not create.
 *
 * @module
 */

import {
  basename,
  dirname,
  isAbsolute,
  join,
  relative,
  resolve,
} from "node:path";
import { CourseError, EXIT_USAGE } from "./errors.ts";

/** File in the output directory that lists every file the build wrote. */
export const MANIFEST_NAME = ".course-build.json";

const MANIFEST_FORMAT = "attention-course-build/1";

interface ManifestFile {
  format: string;
  files: string[];
}

async function pathExists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/**
 * Resolves symbolic links in the longest existing prefix of `path`, so that
 * a directory that does not exist yet still compares correctly.
 */
async function realPathOfFuture(path: string): Promise<string> {
  const absolute = resolve(path);
  let existing = absolute;
  const missing: string[] = [];
  while (!(await pathExists(existing))) {
    const parent = dirname(existing);
    if (parent === existing) break;
    missing.unshift(basename(existing));
    existing = parent;
  }
  return join(await Deno.realPath(existing), ...missing);
}

function isSameOrInside(path: string, directory: string): boolean {
  const fromDirectory = relative(directory, path);
  return fromDirectory === "" ||
    (!fromDirectory.startsWith("..") && !isAbsolute(fromDirectory));
}

/**
 * Resolves `--out` and rejects a directory whose use could change the sources.
 *
 * @param out The `--out` value, relative to the current directory.
 * @param repoRoot Root of the repository.
 * @param notebooksDir Directory of the source notebooks.
 * @returns The absolute output path with symbolic links resolved.
 * @throws {CourseError} With exit status 2 if the path is the repository root,
 *   contains it, or is, contains or lies inside the notebooks directory.
 */
export async function resolveOutputDirectory(
  out: string,
  repoRoot: string,
  notebooksDir: string,
): Promise<string> {
  const target = await realPathOfFuture(out);
  const root = await Deno.realPath(repoRoot);
  const notebooks = await Deno.realPath(notebooksDir);
  let problem: string | null = null;
  if (isSameOrInside(root, target)) {
    problem = target === root
      ? "is the repository root"
      : "contains the repository root";
  } else if (isSameOrInside(target, notebooks)) {
    problem = "is or lies inside the notebooks directory";
  } else if (isSameOrInside(notebooks, target)) {
    problem = "contains the notebooks directory";
  }
  if (problem !== null) {
    throw new CourseError(
      `--out ${JSON.stringify(out)} resolves to ${target}, which ${problem}. ` +
        "The build never writes there. Pass a separate directory, such as the default dist/.",
      EXIT_USAGE,
    );
  }
  return target;
}

/** The files an earlier build wrote, and the files this build writes. */
export class OutputDirectory {
  /** Absolute path of the directory. */
  readonly path: string;
  #previous: Set<string>;
  readonly #written = new Set<string>();

  private constructor(path: string, previous: Set<string>) {
    this.path = path;
    this.#previous = previous;
  }

  /**
   * Creates the directory or opens a previous build in it.
   *
   * @throws {CourseError} With exit status 2 if the path is a file, or a
   *   non-empty directory without the build's manifest.
   */
  static async open(path: string): Promise<OutputDirectory> {
    let info: Deno.FileInfo | null = null;
    try {
      info = await Deno.stat(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    if (info === null) {
      await Deno.mkdir(path, { recursive: true });
      return new OutputDirectory(path, new Set());
    }
    if (!info.isDirectory) {
      throw new CourseError(
        `--out ${path} exists and is not a directory. Pass a directory path.`,
        EXIT_USAGE,
      );
    }

    const previous = await readManifest(path);
    if (previous === null) {
      const entries: string[] = [];
      for await (const entry of Deno.readDir(path)) entries.push(entry.name);
      if (entries.length > 0) {
        throw new CourseError(
          `--out ${path} is not empty and has no ${MANIFEST_NAME}, so it is not a ` +
            `previous course build (it contains ${
              entries.sort().slice(0, 5).join(", ")
            }${entries.length > 5 ? ", ..." : ""}). ` +
            "The build overwrites only its own files. Pass an empty or new directory.",
          EXIT_USAGE,
        );
      }
      return new OutputDirectory(path, new Set());
    }
    return new OutputDirectory(path, previous);
  }

  /** Returns the absolute path of a file in the directory, given its `/`-separated relative path. */
  resolve(relativePath: string): string {
    return join(this.path, ...relativePath.split("/"));
  }

  /** Checks whether a file exists now and was written by this build or an earlier one. */
  async hasBuilt(relativePath: string): Promise<boolean> {
    const known = this.#written.has(relativePath) ||
      this.#previous.has(relativePath);
    return known && await pathExists(this.resolve(relativePath));
  }

  /**
   * Records a file that this build writes or that a tool writes for it, and
   * saves the manifest first, so that an interrupted build can be rerun.
   */
  async claim(relativePath: string): Promise<string> {
    if (!this.#written.has(relativePath)) {
      this.#written.add(relativePath);
      await this.#saveManifest();
    }
    return this.resolve(relativePath);
  }

  /**
   * Writes a file atomically: into a temporary file beside it, then renamed
   * over it. A symbolic link at the path is replaced, never followed.
   */
  async write(relativePath: string, data: string | Uint8Array): Promise<void> {
    const path = await this.claim(relativePath);
    await Deno.mkdir(dirname(path), { recursive: true });
    const temporary = `${path}.tmp-${crypto.randomUUID()}`;
    try {
      if (typeof data === "string") {
        await Deno.writeTextFile(temporary, data, { createNew: true });
      } else {
        await Deno.writeFile(temporary, data, { createNew: true });
      }
      await Deno.rename(temporary, path);
    } catch (error) {
      await Deno.remove(temporary).catch(() => {});
      throw error;
    }
  }

  /**
   * Removes the files an earlier build wrote that this build did not write,
   * such as the pages of a renamed notebook. Call it only after a full build.
   *
   * @returns The relative paths removed.
   */
  async removeStaleFiles(): Promise<string[]> {
    const removed: string[] = [];
    for (const relativePath of [...this.#previous].sort()) {
      if (this.#written.has(relativePath)) continue;
      try {
        await Deno.remove(this.resolve(relativePath));
        removed.push(relativePath);
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
    }
    this.#previous = new Set();
    await this.#saveManifest();
    return removed;
  }

  async #saveManifest(): Promise<void> {
    const files = new Set([...this.#previous, ...this.#written]);
    const manifest: ManifestFile = {
      format: MANIFEST_FORMAT,
      files: [...files].sort(),
    };
    const path = join(this.path, MANIFEST_NAME);
    const temporary = `${path}.tmp-${crypto.randomUUID()}`;
    await Deno.writeTextFile(
      temporary,
      JSON.stringify(manifest, null, 2) + "\n",
    );
    await Deno.rename(temporary, path);
  }
}

/** Reads the manifest of a previous build, or returns null when there is none. */
async function readManifest(directory: string): Promise<Set<string> | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(join(directory, MANIFEST_NAME));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
  let manifest: Partial<ManifestFile>;
  try {
    manifest = JSON.parse(text);
  } catch {
    manifest = {};
  }
  const files = manifest.files;
  if (
    manifest.format !== MANIFEST_FORMAT || !Array.isArray(files) ||
    !files.every((file) => typeof file === "string" && isSafeRelative(file))
  ) {
    throw new CourseError(
      `${join(directory, MANIFEST_NAME)} is not a manifest this build wrote. ` +
        "Remove the output directory or pass another --out.",
      EXIT_USAGE,
    );
  }
  return new Set(files);
}

/** Checks whether a manifest entry stays inside the output directory. */
function isSafeRelative(path: string): boolean {
  const parts = path.split("/");
  return !/[\\\0:]/.test(path) &&
    parts.every((part) => part !== "" && part !== "." && part !== "..");
}
