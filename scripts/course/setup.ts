/**
 * Finds or installs the Python that runs the notebooks, and registers the
 * Deno Jupyter kernel.
 *
 * Order: the interpreter given with `--python`, otherwise `findPython()` from
 * scripts/jupyter.ts (`$ATTENTION_PYTHON`, `.venv`, `/usr/bin/python3`,
 * `python3`). When none has the Jupyter packages, the build creates the
 * project's `.venv` and installs them with pip.
 *
 * @module
 */

import { join } from "node:path";
import {
  ensureDenoKernel,
  findPython,
  JupyterSetupError,
  pythonCandidates,
  REPO_ROOT,
} from "../jupyter.ts";
import { CourseError, EXIT_SETUP } from "./errors.ts";

/** Python packages the build installs into `.venv`. */
export const JUPYTER_PACKAGES: readonly string[] = [
  "nbclient",
  "nbformat",
  "jupyter_client",
  "ipykernel",
];

/** The project's virtual environment, ignored by git. */
export const VENV_DIRECTORY: string = join(REPO_ROOT, ".venv");

/** Install instructions shown when the automatic setup fails. */
export const SETUP_HINT: string = [
  "Install Jupyter's notebook execution packages, then run the command again:",
  "  pip:           python3 -m pip install nbclient ipykernel",
  "  Debian/Ubuntu: sudo apt-get install jupyter-nbconvert python3-nbclient python3-ipykernel",
  "Or pass --python PATH (or set ATTENTION_PYTHON) to use a Python that has them.",
].join("\n");

const PACKAGE_CHECK =
  "import sys, nbclient, nbformat, jupyter_client; print(sys.executable)";

/** Options of {@linkcode preparePython}. */
export interface SetupOptions {
  /** Use only this interpreter, or create `.venv` from it when it lacks the packages. */
  python?: string;
  /** Prints one progress line. */
  log: (line: string) => void;
}

function venvPython(): string {
  return Deno.build.os === "windows"
    ? join(VENV_DIRECTORY, "Scripts", "python.exe")
    : join(VENV_DIRECTORY, "bin", "python");
}

/** Returns `sys.executable` of `python` when it imports the Jupyter packages, else null. */
async function checkPackages(python: string): Promise<string | null> {
  try {
    const result = await new Deno.Command(python, {
      args: ["-c", PACKAGE_CHECK],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
    const executable = new TextDecoder().decode(result.stdout).trim();
    return result.success && executable !== "" ? executable : null;
  } catch (error) {
    if (
      error instanceof Deno.errors.NotFound ||
      error instanceof Deno.errors.PermissionDenied
    ) {
      return null;
    }
    throw error;
  }
}

/** Runs a setup command with inherited output and returns its exit code, or null if it cannot start. */
async function runVisible(
  command: string,
  args: string[],
): Promise<number | null> {
  try {
    const status = await new Deno.Command(command, {
      args,
      stdin: "null",
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    return status.code;
  } catch (error) {
    if (
      error instanceof Deno.errors.NotFound ||
      error instanceof Deno.errors.PermissionDenied
    ) {
      return null;
    }
    throw error;
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/**
 * Creates `.venv` from `basePython` unless it exists, and installs
 * {@linkcode JUPYTER_PACKAGES} into it with pip.
 *
 * @returns The virtual environment's interpreter.
 * @throws {CourseError} With exit status 3 if Python is missing, or venv or pip fails.
 */
async function installIntoVenv(
  basePython: string,
  log: (line: string) => void,
): Promise<string> {
  const python = venvPython();
  if (!(await isFile(python))) {
    log(
      `Creating a virtual environment: ${basePython} -m venv ${VENV_DIRECTORY}`,
    );
    const code = await runVisible(basePython, ["-m", "venv", VENV_DIRECTORY]);
    if (code === null) {
      throw new CourseError(
        `Python was not found: \`${basePython}\` could not be started, so the build ` +
          `cannot create ${VENV_DIRECTORY}. Install Python 3 (Debian/Ubuntu: ` +
          "sudo apt-get install python3 python3-venv).\n" + SETUP_HINT,
        EXIT_SETUP,
      );
    }
    if (code !== 0) {
      throw new CourseError(
        `\`${basePython} -m venv ${VENV_DIRECTORY}\` failed with exit code ${code} ` +
          "(see its message above; on Debian/Ubuntu the venv module is in the " +
          "python3-venv package).\n" + SETUP_HINT,
        EXIT_SETUP,
      );
    }
  } else {
    log(`Using the existing virtual environment ${VENV_DIRECTORY}`);
  }

  const install = ["-m", "pip", "install", ...JUPYTER_PACKAGES];
  log(`Installing the Jupyter packages: ${python} ${install.join(" ")}`);
  const code = await runVisible(python, install);
  if (code !== 0) {
    throw new CourseError(
      `pip could not install ${
        JUPYTER_PACKAGES.join(", ")
      } into ${VENV_DIRECTORY} ` +
        `(${
          code === null ? `${python} could not be started` : `exit code ${code}`
        }; see pip's message above). Check the network connection to PyPI, or:\n` +
        SETUP_HINT,
      EXIT_SETUP,
    );
  }
  const executable = await checkPackages(python);
  if (executable === null) {
    throw new CourseError(
      `pip reported success, but ${python} still cannot import nbclient, nbformat ` +
        `and jupyter_client.\n${SETUP_HINT}`,
      EXIT_SETUP,
    );
  }
  return executable;
}

/**
 * Returns a Python that can run notebooks, creating `.venv` when needed, and
 * registers the Deno kernel for it with `deno jupyter --install` if missing.
 *
 * @throws {CourseError} With exit status 3 when no Python can be set up or
 *   the kernel cannot be registered. Its message lists what to install.
 */
export async function preparePython(options: SetupOptions): Promise<string> {
  let python: string | null;
  if (options.python !== undefined) {
    python = await checkPackages(options.python);
    if (python === null) {
      options.log(
        `${options.python} cannot import nbclient, nbformat and jupyter_client.`,
      );
      python = await installIntoVenv(options.python, options.log);
    }
  } else {
    python = await findPython();
    if (python === null) {
      options.log(
        "No Python with nbclient, nbformat and jupyter_client was found " +
          `(tried ${pythonCandidates().join(", ")}).`,
      );
      python = await installIntoVenv("python3", options.log);
    }
  }

  try {
    await ensureDenoKernel(python);
  } catch (error) {
    if (error instanceof JupyterSetupError) {
      throw new CourseError(error.message, EXIT_SETUP);
    }
    throw error;
  }
  return python;
}
