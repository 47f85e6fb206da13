/**
 * Opens the course notebooks in JupyterLab, or in Jupyter Notebook when only
 * that is installed, after registering the Deno kernel if it is missing.
 *
 * Usage: `deno task lab [--python PATH] [-- JUPYTER_ARGS...]`. Arguments
 * after `--` go to Jupyter unchanged, for example `-- --port 8890`.
 *
 * Exit status: Jupyter's own status, 2 for invalid options, 3 when neither
 * JupyterLab nor Notebook is installed or the kernel cannot be registered.
 *
 * @module
 */

import { delimiter, join } from "node:path";
import { parseArgs } from "node:util";
import {
  ensureDenoKernel,
  JupyterSetupError,
  pythonCandidates,
  REPO_ROOT,
} from "./jupyter.ts";
import {
  CourseError,
  EXIT_OK,
  EXIT_SETUP,
  EXIT_USAGE,
} from "./course/errors.ts";

const NOTEBOOKS_DIRECTORY = join(REPO_ROOT, "notebooks");

const USAGE = `Usage: deno task lab [--python PATH] [-- JUPYTER_ARGS...]

Starts JupyterLab (or Jupyter Notebook) on notebooks/ with the Deno kernel.
Looks for jupyterlab, then notebook, in: --python PATH if given, otherwise
$ATTENTION_PYTHON, .venv, /usr/bin/python3, python3, then jupyter-lab and
jupyter-notebook on PATH. Registers the kernel with \`deno jupyter --install\`
when it is missing.

Options:
  --python PATH   look only in this Python interpreter
  -h, --help      show this help`;

/** Message for a machine without JupyterLab or Notebook. */
export const LAB_INSTALL_HINT = [
  "Neither JupyterLab nor Jupyter Notebook is installed. Install one, then run `deno task lab` again:",
  "  pip:           python3 -m pip install jupyterlab",
  "  Debian/Ubuntu: sudo apt-get install jupyter-notebook",
  "Or pass --python PATH for a Python that has jupyterlab or notebook.",
  "To read the notebooks without Jupyter, build the pages with `deno task course`.",
].join("\n");

/** How to start Jupyter. */
interface Launcher {
  /** Program to run. */
  command: string;
  /** Arguments before the notebook directory. */
  args: string[];
  /** Interpreter that imports jupyter_client, for the kernel check; null for a PATH executable. */
  python: string | null;
  /** Name shown to the user. */
  label: string;
}

async function succeeds(command: string, args: string[]): Promise<boolean> {
  try {
    const result = await new Deno.Command(command, {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    return result.success;
  } catch (error) {
    if (
      error instanceof Deno.errors.NotFound ||
      error instanceof Deno.errors.PermissionDenied
    ) {
      return false;
    }
    throw error;
  }
}

/** Returns the path of an executable found on PATH, or null. */
async function findOnPath(name: string): Promise<string | null> {
  for (const directory of (Deno.env.get("PATH") ?? "").split(delimiter)) {
    if (directory === "") continue;
    const path = join(directory, name);
    try {
      const info = await Deno.stat(path);
      if (info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0) return path;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  return null;
}

const APPLICATIONS = [
  { module: "jupyterlab", executable: "jupyter-lab", label: "JupyterLab" },
  {
    module: "notebook",
    executable: "jupyter-notebook",
    label: "Jupyter Notebook",
  },
] as const;

/** Finds JupyterLab first, then Notebook, in each interpreter and then on PATH. */
async function findLauncher(pythons: string[]): Promise<Launcher | null> {
  for (const { module, label } of APPLICATIONS) {
    for (const python of pythons) {
      if (await succeeds(python, ["-c", `import ${module}`])) {
        return { command: python, args: ["-m", module], python, label };
      }
    }
  }
  for (const { executable, label } of APPLICATIONS) {
    const path = await findOnPath(executable);
    if (path !== null) return { command: path, args: [], python: null, label };
  }
  return null;
}

/** Registers the Deno kernel through the Jupyter found on PATH when its kernel list lacks it. */
async function ensureKernelForExecutable(): Promise<void> {
  const jupyter = await findOnPath("jupyter");
  if (jupyter !== null) {
    const result = await new Deno.Command(jupyter, {
      args: ["kernelspec", "list", "--json"],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
    const kernels = new TextDecoder().decode(result.stdout);
    if (result.success && /"deno"\s*:/.test(kernels)) return;
  }
  console.error("Registering the Deno kernel: deno jupyter --install");
  const status = await new Deno.Command(Deno.execPath(), {
    args: ["jupyter", "--install"],
  }).output();
  if (!status.success) {
    throw new CourseError(
      `\`deno jupyter --install\` failed with exit code ${status.code}.`,
      EXIT_SETUP,
    );
  }
}

/** Runs the command line and returns the exit status. */
export async function main(args: string[]): Promise<number> {
  try {
    let parsed;
    try {
      parsed = parseArgs({
        args,
        strict: true,
        allowPositionals: true,
        options: {
          python: { type: "string" },
          help: { type: "boolean", short: "h" },
        },
      });
    } catch (error) {
      throw new CourseError(
        `${
          (error as Error).message
        }\nRun \`deno task lab --help\` for the options.`,
        EXIT_USAGE,
      );
    }
    if (parsed.values.help) {
      console.log(USAGE);
      return EXIT_OK;
    }
    const separator = args.indexOf("--");
    const passThrough = separator === -1 ? [] : args.slice(separator + 1);
    if (separator === -1 && parsed.positionals.length > 0) {
      throw new CourseError(
        `Unexpected argument ${JSON.stringify(parsed.positionals[0])}. ` +
          "Put Jupyter's own arguments after --, as in `deno task lab -- --port 8890`.",
        EXIT_USAGE,
      );
    }

    const pythons = parsed.values.python !== undefined
      ? [parsed.values.python]
      : [...new Set(pythonCandidates())];
    const launcher = await findLauncher(pythons);
    if (launcher === null) throw new CourseError(LAB_INSTALL_HINT, EXIT_SETUP);

    try {
      if (launcher.python !== null) await ensureDenoKernel(launcher.python);
      else await ensureKernelForExecutable();
    } catch (error) {
      if (error instanceof JupyterSetupError) {
        throw new CourseError(error.message, EXIT_SETUP);
      }
      throw error;
    }

    const command = [
      launcher.command,
      ...launcher.args,
      `--notebook-dir=${NOTEBOOKS_DIRECTORY}`,
      ...passThrough,
    ];
    console.error(`Starting ${launcher.label}: ${command.join(" ")}`);
    // Ctrl+C reaches Jupyter too, which prompts for confirmation before it stops. Ignoring it
    // here keeps this process waiting, so the terminal is not handed back
    // while Jupyter still runs.
    const ignoreInterrupt = () => {};
    Deno.addSignalListener("SIGINT", ignoreInterrupt);
    try {
      const status = await new Deno.Command(command[0], {
        args: command.slice(1),
        cwd: REPO_ROOT,
      }).output();
      return status.code;
    } finally {
      Deno.removeSignalListener("SIGINT", ignoreInterrupt);
    }
  } catch (error) {
    if (error instanceof CourseError) {
      console.error(`lab: ${error.message}`);
      return error.exitCode;
    }
    throw error;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
