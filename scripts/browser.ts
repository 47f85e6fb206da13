/**
 * Headless Chromium checks for tests: open a generated HTML page, evaluate
 * JavaScript expressions in it and collect the errors it reports.
 *
 * The module drives Debian's `/usr/bin/chromium` through playwright-core and
 * never downloads a browser. Each browser gets a fresh temporary directory
 * that contains its profile, `HOME`, config and cache, so a run leaves nothing
 * behind in the real home directory. Pages may load only `file:`, `data:`,
 * `blob:` and `about:` URLs and `http(s)` URLs on 127.0.0.1, localhost or
 * [::1]. Every other request, WebSocket connections included, is aborted
 * and listed in the page's errors.
 *
 * Linux only, because leftover browser processes are found through `/proc`.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { withBrowser } from "./browser.ts";
 *
 * const count = await withBrowser(async (browser) => {
 *   const page = await browser.openPage("data:text/html,<p>a</p><p>b</p>");
 *   return await page.evaluate<number>("document.querySelectorAll('p').length");
 * });
 * assert.equal(count, 2);
 * ```
 *
 * @module
 */
import {
  type Browser,
  type BrowserContext,
  chromium,
  errors as playwrightErrors,
  type Page,
  type Request,
} from "playwright-core";

/** Path of the Debian Chromium launcher script. */
export const CHROMIUM_PATH = "/usr/bin/chromium";

/**
 * Command-line switches passed to Chromium, besides `--user-data-dir` and
 * `--remote-debugging-pipe`.
 *
 * Playwright's own default switches are turned off so that this list is the
 * whole command line. Debian's launcher script still adds the switches set in
 * /etc/chromium.d/.
 */
export const CHROMIUM_FLAGS: readonly string[] = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

/** Default time limit, in milliseconds, to start the browser and to load or query a page. */
export const DEFAULT_TIMEOUT_MS = 30_000;

/** Default time limit, in milliseconds, for a graceful shutdown before SIGKILL. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 10_000;

const LOOPBACK_HOSTS: ReadonlySet<string> = new Set([
  "127.0.0.1",
  "localhost",
  "[::1]",
]);

/** Options for {@linkcode launchBrowser} and {@linkcode withBrowser}. */
export interface LaunchOptions {
  /** Time limit in milliseconds to start Chromium. Default {@linkcode DEFAULT_TIMEOUT_MS}. */
  timeoutMs?: number;
  /** Chromium executable. Default {@linkcode CHROMIUM_PATH}. */
  executablePath?: string;
  /**
   * Time limit in milliseconds for `close()` to shut Chromium down gracefully
   * before it kills the remaining processes. Default {@linkcode DEFAULT_CLOSE_TIMEOUT_MS}.
   */
  closeTimeoutMs?: number;
}

/** Options for opening one page. */
export interface PageOptions {
  /** Whether the page's scripts run. Default `true`. */
  javaScript?: boolean;
  /**
   * Time limit in milliseconds for the `load` event and, later, for each
   * `evaluate` and `waitFor` call. Default {@linkcode DEFAULT_TIMEOUT_MS}.
   */
  timeoutMs?: number;
}

/** Page loaded in its own browser context, with the errors it has reported so far. */
export interface BrowserPage {
  /** URL passed to `openPage`. */
  readonly url: string;
  /**
   * Errors reported since navigation started, in arrival order. The list keeps
   * growing while the page runs. Each entry starts with its source:
   * `console.error:`, `uncaught exception:`, `request failed:`, `HTTP <status>:`,
   * `blocked request:` or `page crashed`. A failed load gives one entry,
   * because Chromium's own "Failed to load resource" console line repeats the
   * `request failed:` or `HTTP` entry without the URL and is dropped.
   */
  readonly errors: readonly string[];
  /**
   * Evaluates a JavaScript expression in the page and returns its value.
   * A promise is awaited first. The value crosses over by serialization, so
   * DOM nodes and functions do not survive.
   *
   * @throws {RangeError} When `timeoutMs` is not a positive finite number.
   * @throws {BrowserTimeoutError} When the value takes longer than `timeoutMs`,
   *   which defaults to the page's time limit.
   * @throws {Error} When the expression throws or does not parse.
   */
  evaluate<T>(expression: string, timeoutMs?: number): Promise<T>;
  /**
   * Waits until a JavaScript expression is truthy in the page, polling on
   * each animation frame.
   *
   * @throws {RangeError} When `timeoutMs` is not a positive finite number.
   * @throws {BrowserTimeoutError} When the expression stays falsy past `timeoutMs`,
   *   which defaults to the page's time limit.
   */
  waitFor(expression: string, timeoutMs?: number): Promise<void>;
  /** Closes the page and its browser context. Safe to call more than once. */
  close(): Promise<void>;
}

/** Running Chromium process that opens pages, each in a fresh browser context. */
export interface HeadlessBrowser {
  /** Temporary directory with the profile and `HOME` of this browser, deleted by `close()`. */
  readonly tempDir: string;
  /**
   * Opens a URL in a new browser context and waits for its `load` event.
   *
   * @throws {TypeError} When the URL is not absolute or not a local URL.
   * @throws {BrowserTimeoutError} When `load` does not fire within `timeoutMs`.
   * @throws {Error} When the document itself cannot be loaded.
   */
  openPage(url: string | URL, options?: PageOptions): Promise<BrowserPage>;
  /**
   * Closes Chromium, kills any of its processes that are still running and
   * deletes its temporary directory. Safe to call more than once.
   */
  close(): Promise<void>;
}

/** Browser operation that did not finish within its time limit. */
export class BrowserTimeoutError extends Error {
  /** URL of the page involved, or the executable path for a launch. */
  readonly url: string;
  /** Time limit that expired, in milliseconds. */
  readonly timeoutMs: number;

  /**
   * Creates a timeout error.
   *
   * @param message Full message: operation, URL, limit and what to do.
   * @param url URL of the page involved, or the executable path for a launch.
   * @param timeoutMs Time limit that expired, in milliseconds.
   * @param options Standard error options, such as the underlying `cause`.
   */
  constructor(
    message: string,
    url: string,
    timeoutMs: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "BrowserTimeoutError";
    this.url = url;
    this.timeoutMs = timeoutMs;
  }
}

/**
 * Starts headless Chromium with a fresh temporary profile.
 *
 * Prefer {@linkcode withBrowser}, which always closes the browser. A caller
 * of this function must call `close()` itself, in a `finally` block.
 *
 * @param options Time limits and executable.
 * @returns The running browser.
 * @throws {RangeError} When `timeoutMs` or `closeTimeoutMs` is not a positive finite number.
 * @throws {BrowserTimeoutError} When Chromium does not start within `timeoutMs`.
 * @throws {Error} When the executable is missing or Chromium fails to start.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { launchBrowser } from "./browser.ts";
 *
 * const browser = await launchBrowser();
 * try {
 *   const page = await browser.openPage("data:text/html,<title>t</title>");
 *   assert.equal(await page.evaluate<string>("document.title"), "t");
 * } finally {
 *   await browser.close();
 * }
 * ```
 */
export async function launchBrowser(
  options: LaunchOptions = {},
): Promise<HeadlessBrowser> {
  const timeoutMs = checkTimeout(
    "launchBrowser()",
    "timeoutMs",
    options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  );
  const closeTimeoutMs = checkTimeout(
    "launchBrowser()",
    "closeTimeoutMs",
    options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS,
  );
  const executablePath = options.executablePath ?? CHROMIUM_PATH;
  // Playwright 1.65.2 leaves its own temporary directories behind when the
  // executable is missing, so that case is rejected before calling it.
  await checkExecutable(executablePath);
  const tempDir = await Deno.makeTempDir({ prefix: "browser-check-" });
  const home = `${tempDir}/home`;

  let browser: Browser;
  try {
    browser = await chromium.launch({
      executablePath,
      ignoreDefaultArgs: true,
      args: [
        ...CHROMIUM_FLAGS,
        `--user-data-dir=${tempDir}/profile`,
        "--remote-debugging-pipe",
      ],
      // Chromium writes its crash database and dconf cache under HOME and the
      // XDG directories, so they point into the temporary directory.
      env: {
        ...Deno.env.toObject(),
        HOME: home,
        XDG_CONFIG_HOME: `${home}/.config`,
        XDG_CACHE_HOME: `${home}/.cache`,
      },
      timeout: timeoutMs,
    });
  } catch (error) {
    await cleanUp(tempDir);
    if (error instanceof playwrightErrors.TimeoutError) {
      throw new BrowserTimeoutError(
        `launchBrowser() timed out after ${timeoutMs} ms starting ${executablePath}. ` +
          `Check that \`${executablePath} --version\` runs, or raise timeoutMs.`,
        executablePath,
        timeoutMs,
        { cause: error },
      );
    }
    throw new Error(
      `launchBrowser() failed to start ${executablePath}: ${
        messageOf(error)
      }. ` +
        "Check that Chromium is installed at that path.",
      { cause: error },
    );
  }

  let closing: Promise<void> | undefined;
  return {
    tempDir,
    openPage: (url, pageOptions) => openInBrowser(browser, url, pageOptions),
    close() {
      closing ??= closeBrowser(browser, tempDir, closeTimeoutMs);
      return closing;
    },
  };
}

/**
 * Runs `fn` with a freshly started browser and closes that browser afterwards,
 * also when `fn` throws.
 *
 * @param fn Check to run. Pages it opens close with the browser.
 * @param options Time limit and executable for the launch.
 * @returns What `fn` returns.
 * @throws {BrowserTimeoutError} When the launch times out.
 * @throws {Error} When the launch fails, or whatever `fn` throws.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { withBrowser } from "./browser.ts";
 *
 * const errors = await withBrowser(async (browser) => {
 *   const page = await browser.openPage(
 *     "data:text/html,<script>console.error('bad')</script>",
 *   );
 *   return page.errors;
 * });
 * assert.equal(errors.length, 1);
 * assert.match(errors[0], /^console\.error: bad/);
 * ```
 */
export async function withBrowser<T>(
  fn: (browser: HeadlessBrowser) => Promise<T>,
  options: LaunchOptions = {},
): Promise<T> {
  const browser = await launchBrowser(options);
  try {
    return await fn(browser);
  } finally {
    await browser.close();
  }
}

/**
 * Starts a browser just for one page and opens the page in it. Closing the
 * page also closes that browser. To check several pages, share one browser
 * through {@linkcode withBrowser}, because each launch costs Chromium's
 * start-up time.
 *
 * @param url Absolute local URL, for example `new URL("./page.html", import.meta.url)`.
 * @param options Whether scripts run, and the time limit for launch, load and queries.
 * @returns The loaded page.
 * @throws {TypeError} When the URL is not absolute or not a local URL.
 * @throws {BrowserTimeoutError} When the launch or the `load` event times out.
 * @throws {Error} When the launch fails or the document cannot be loaded.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { openPage } from "./browser.ts";
 *
 * const page = await openPage("data:text/html,<p>static</p>", {
 *   javaScript: false,
 * });
 * try {
 *   assert.equal(await page.evaluate<string>("document.body.textContent"), "static");
 *   assert.deepEqual(page.errors, []);
 * } finally {
 *   await page.close();
 * }
 * ```
 */
export async function openPage(
  url: string | URL,
  options: PageOptions = {},
): Promise<BrowserPage> {
  // Reject a bad URL before paying for a launch.
  parseLocalUrl(url);
  const browser = await launchBrowser({ timeoutMs: options.timeoutMs });
  let page: BrowserPage;
  try {
    page = await browser.openPage(url, options);
  } catch (error) {
    await browser.close();
    throw error;
  }
  return {
    url: page.url,
    errors: page.errors,
    evaluate: (expression, timeoutMs) => page.evaluate(expression, timeoutMs),
    waitFor: (expression, timeoutMs) => page.waitFor(expression, timeoutMs),
    async close() {
      await page.close();
      await browser.close();
    },
  };
}

async function openInBrowser(
  browser: Browser,
  url: string | URL,
  options: PageOptions = {},
): Promise<BrowserPage> {
  const target = parseLocalUrl(url).href;
  const timeoutMs = checkTimeout(
    "openPage()",
    "timeoutMs",
    options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  );
  const errors: string[] = [];
  const blocked = new Set<string>();
  const context = await browser.newContext({
    javaScriptEnabled: options.javaScript ?? true,
  });

  try {
    await blockNonLocalRequests(context, errors, blocked);
    const page = await context.newPage();
    collectErrors(page, errors, blocked);
    await navigate(page, target, timeoutMs);
    return makePage(context, page, target, errors, timeoutMs);
  } catch (error) {
    await context.close();
    throw error;
  }
}

async function blockNonLocalRequests(
  context: BrowserContext,
  errors: string[],
  blocked: Set<string>,
): Promise<void> {
  // NOTE: Chromium's DNS prefetch and preconnect hints bypass request
  // interception, so a page can still trigger a DNS lookup of a remote host.
  await context.route((url) => !isLocalUrl(url), async (route) => {
    const url = route.request().url();
    blocked.add(url);
    errors.push(`blocked request: ${url} is not a local URL`);
    try {
      await route.abort("blockedbyclient");
    } catch {
      // The page may close while the request is pending, and then there is
      // nothing left to abort.
    }
  });
  // A WebSocket route that never calls connectToServer() opens no network
  // connection, so closing it is enough.
  await context.routeWebSocket((url) => !isLocalUrl(url), async (socket) => {
    errors.push(`blocked request: ${socket.url()} is not a local URL`);
    await socket.close({ code: 1008, reason: "blocked by the test browser" });
  });
}

function collectErrors(
  page: Page,
  errors: string[],
  blocked: ReadonlySet<string>,
): void {
  // Chromium may abort a request after an error status, for example a script
  // served with 404, and that request is already listed under its status.
  const failedByStatus = new WeakSet<Request>();

  page.on("console", (message) => {
    if (message.type() !== "error") return;
    // Chromium logs each failed load itself, with no console arguments. The
    // request listeners below already list that load with its URL and reason.
    const fromNetwork = message.args().length === 0 &&
      message.text().startsWith("Failed to load resource:");
    if (fromNetwork) return;
    const { url, lineNumber } = message.location();
    const where = url === "" ? "" : ` (${url}:${lineNumber + 1})`;
    errors.push(`console.error: ${message.text()}${where}`);
  });
  page.on("pageerror", (error) => {
    errors.push(`uncaught exception: ${error.name}: ${error.message}`);
  });
  page.on("requestfailed", (request) => {
    // Requests aborted by blockNonLocalRequests are already listed.
    if (blocked.has(request.url()) || failedByStatus.has(request)) return;
    const reason = request.failure()?.errorText ?? "unknown error";
    errors.push(`request failed: ${request.url()} (${reason})`);
  });
  page.on("response", (response) => {
    if (response.status() < 400) return;
    failedByStatus.add(response.request());
    errors.push(`HTTP ${response.status()}: ${response.url()}`);
  });
  page.on("crash", () => {
    errors.push("page crashed");
  });
}

async function navigate(
  page: Page,
  url: string,
  timeoutMs: number,
): Promise<void> {
  try {
    await page.goto(url, { waitUntil: "load", timeout: timeoutMs });
  } catch (error) {
    if (error instanceof playwrightErrors.TimeoutError) {
      throw new BrowserTimeoutError(
        `openPage() timed out after ${timeoutMs} ms waiting for the load event of ${url}. ` +
          "Look for a script or resource that never finishes, or raise timeoutMs.",
        url,
        timeoutMs,
        { cause: error },
      );
    }
    throw new Error(
      `openPage() failed to load ${url}: ${messageOf(error)}. ` +
        "Check that the file exists or that the server is running.",
      { cause: error },
    );
  }
}

function makePage(
  context: BrowserContext,
  page: Page,
  url: string,
  errors: string[],
  timeoutMs: number,
): BrowserPage {
  let closing: Promise<void> | undefined;
  return {
    url,
    errors,
    async evaluate<T>(expression: string, limitMs = timeoutMs): Promise<T> {
      checkTimeout("evaluate()", "timeoutMs", limitMs);
      const value = page.evaluate(expression);
      try {
        return await withTimeout(
          value,
          limitMs,
          () =>
            new BrowserTimeoutError(
              `evaluate() timed out after ${limitMs} ms on ${url} ` +
                `for ${JSON.stringify(expression)}. ` +
                "Check for a promise that never settles or a busy loop, or raise the time limit.",
              url,
              limitMs,
            ),
        ) as T;
      } catch (error) {
        if (error instanceof BrowserTimeoutError) throw error;
        throw new Error(
          `evaluate() failed on ${url} for ${JSON.stringify(expression)}: ${
            messageOf(error)
          }`,
          { cause: error },
        );
      }
    },
    async waitFor(expression: string, limitMs = timeoutMs): Promise<void> {
      checkTimeout("waitFor()", "timeoutMs", limitMs);
      try {
        await page.waitForFunction(expression, undefined, {
          timeout: limitMs,
          polling: "raf",
        });
      } catch (error) {
        if (error instanceof playwrightErrors.TimeoutError) {
          throw new BrowserTimeoutError(
            `waitFor() timed out after ${limitMs} ms on ${url}: ` +
              `${JSON.stringify(expression)} stayed falsy. ` +
              "Check the page's errors, or raise the time limit.",
            url,
            limitMs,
            { cause: error },
          );
        }
        throw new Error(
          `waitFor() failed on ${url} for ${JSON.stringify(expression)}: ${
            messageOf(error)
          }`,
          { cause: error },
        );
      }
    },
    close() {
      closing ??= context.close();
      return closing;
    },
  };
}

async function closeBrowser(
  browser: Browser,
  tempDir: string,
  timeoutMs: number,
): Promise<void> {
  const closed = browser.close();
  const timedOut = () => new Error("Chromium did not exit in time");
  try {
    await withTimeout(closed, timeoutMs, timedOut);
  } catch {
    // Playwright settles close() only after the process exits and its own
    // temporary directories are removed, so wait for that once more after
    // the kill. A second failure is left to the cleanUp() below.
    await killProcessesUsing(tempDir);
    await withTimeout(closed, timeoutMs, timedOut).catch(() => {});
  }
  await cleanUp(tempDir);
}

async function cleanUp(tempDir: string): Promise<void> {
  await killProcessesUsing(tempDir);
  await Deno.remove(tempDir, { recursive: true });
}

/**
 * Sends SIGKILL to every process whose command line mentions `tempDir`.
 *
 * All Chromium processes, including the crash handlers that re-parent to
 * init, carry the profile or crash database path under the unique temporary
 * directory, so this reaches exactly the processes of one browser.
 */
async function killProcessesUsing(tempDir: string): Promise<void> {
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const pid = Number(entry.name);
    if (pid === Deno.pid) continue;
    let commandLine: string;
    try {
      commandLine = await Deno.readTextFile(`/proc/${pid}/cmdline`);
    } catch {
      continue; // The process exited while the directory was listed.
    }
    if (!commandLine.includes(tempDir)) continue;
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // The process exited between the read and the kill.
    }
  }
}

function isLocalUrl(url: URL): boolean {
  switch (url.protocol) {
    case "file:":
    case "data:":
    case "blob:":
    case "about:":
      return true;
    case "http:":
    case "https:":
    case "ws:":
    case "wss:":
      return LOOPBACK_HOSTS.has(url.hostname);
    default:
      return false;
  }
}

function parseLocalUrl(url: string | URL): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(
      `openPage() expected an absolute URL, received ${
        JSON.stringify(String(url))
      }. ` +
        'Convert a file path with `new URL("./page.html", import.meta.url)` or `pathToFileURL()` from node:url.',
    );
  }
  const isPage = ["file:", "data:", "about:"].includes(parsed.protocol) ||
    (["http:", "https:"].includes(parsed.protocol) &&
      LOOPBACK_HOSTS.has(parsed.hostname));
  if (!isPage) {
    throw new TypeError(
      "openPage() opens only file:, data: and about: URLs and http(s) URLs on 127.0.0.1, " +
        `localhost or [::1], received ${parsed.href}. ` +
        "Open the page from disk or serve it on 127.0.0.1.",
    );
  }
  return parsed;
}

async function checkExecutable(path: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (error) {
    throw new Error(
      `launchBrowser() failed to start ${path}: the file was not found (${
        messageOf(error)
      }). Install Chromium or pass executablePath.`,
      { cause: error },
    );
  }
  const executableBits = 0o111;
  if (!info.isFile || ((info.mode ?? 0) & executableBits) === 0) {
    throw new Error(
      `launchBrowser() failed to start ${path}: it is not an executable file. ` +
        "Pass the path of the Chromium binary or launcher script as executablePath.",
    );
  }
}

function checkTimeout(
  operation: string,
  name: string,
  timeoutMs: number,
): number {
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new RangeError(
      `${operation} expected ${name} to be a positive number of milliseconds, ` +
        `received ${timeoutMs}.`,
    );
  }
  return timeoutMs;
}

/**
 * Settles like `promise`, or rejects with `onTimeout()` after `timeoutMs`.
 * A late rejection of `promise` is swallowed, so a page closed after a
 * timeout does not raise an unhandled rejection.
 */
async function withTimeout<T>(
  promise: Promise<T>,
  timeoutMs: number,
  onTimeout: () => Error,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), timeoutMs);
  });
  promise.catch(() => {});
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

// Playwright appends a multi-line call log to its messages. The first line
// states the failure, and the full text stays in the error's cause.
function messageOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n")[0];
}
