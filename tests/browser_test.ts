import assert from "node:assert/strict";
import {
  BrowserTimeoutError,
  type HeadlessBrowser,
  launchBrowser,
  openPage,
  withBrowser,
} from "../scripts/browser.ts";

const PAGES = new URL("./pages/", import.meta.url);

function pageUrl(name: string): URL {
  return new URL(name, PAGES);
}

function countAll(selector: string): string {
  return `document.querySelectorAll(${JSON.stringify(selector)}).length`;
}

// Lists live processes whose command line contains `text`.
async function processesMentioning(text: string): Promise<number[]> {
  const pids: number[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name) || Number(entry.name) === Deno.pid) continue;
    try {
      const commandLine = await Deno.readTextFile(
        `/proc/${entry.name}/cmdline`,
      );
      if (commandLine.includes(text)) pids.push(Number(entry.name));
    } catch {
      // The process exited while /proc was listed.
    }
  }
  return pids;
}

// Returns the pid of the main Chromium process, the one without `--type=`.
async function mainBrowserPid(tempDir: string): Promise<number> {
  for (const pid of await processesMentioning(tempDir)) {
    const args = (await Deno.readTextFile(`/proc/${pid}/cmdline`)).split("\0");
    const isChromium = args[0].endsWith("/chromium");
    if (isChromium && !args.some((arg) => arg.startsWith("--type="))) {
      return pid;
    }
  }
  throw new Error(`no main Chromium process found for ${tempDir}`);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

Deno.test("openPage() counts script-built elements", async () => {
  const page = await openPage(pageUrl("items.html"));
  try {
    assert.equal(await page.evaluate<number>(countAll("li.item")), 100);
    assert.deepEqual(page.errors, []);
  } finally {
    await page.close();
  }
});

Deno.test("openPage() reports an uncaught exception", async () => {
  const page = await openPage(pageUrl("uncaught.html"));
  try {
    assert.deepEqual(page.errors, [
      "uncaught exception: RangeError: fixture uncaught error",
    ]);
  } finally {
    await page.close();
  }
});

Deno.test("openPage() captures console.error", async () => {
  await withBrowser(async (browser) => {
    const page = await browser.openPage(pageUrl("console-error.html"));
    assert.equal(page.errors.length, 1);
    assert.match(page.errors[0], /^console\.error: fixture console error 42 /);
    assert.match(page.errors[0], /console-error\.html:9\)$/);
  });
});

Deno.test("openPage() without JavaScript shows only static content", async () => {
  await withBrowser(async (browser) => {
    const page = await browser.openPage(pageUrl("items.html"), {
      javaScript: false,
    });
    assert.equal(await page.evaluate<number>(countAll("li.item")), 0);
    assert.equal(
      await page.evaluate<string>(
        "document.getElementById('static').textContent",
      ),
      "Static paragraph",
    );
    assert.equal(
      await page.evaluate<boolean>(
        "document.getElementById('static').checkVisibility()",
      ),
      true,
    );
    assert.deepEqual(page.errors, []);
  });
});

Deno.test("openPage() reports a missing local script", async () => {
  await withBrowser(async (browser) => {
    const page = await browser.openPage(pageUrl("missing-script.html"));
    const missing = pageUrl("does-not-exist.js").href;
    assert.deepEqual(page.errors, [
      `request failed: ${missing} (net::ERR_FILE_NOT_FOUND)`,
    ]);
  });
});

Deno.test("openPage() blocks a request to a non-local host", async () => {
  await withBrowser(async (browser) => {
    const page = await browser.openPage(pageUrl("non-local.html"));
    assert.equal(await page.evaluate<boolean>("socketClosed"), true);
    assert.deepEqual(page.errors, [
      "blocked request: http://127.0.0.2:9/not-allowed.js is not a local URL",
      "blocked request: ws://127.0.0.2:9/not-allowed is not a local URL",
    ]);
  });
});

Deno.test("openPage() loads http pages from 127.0.0.1", async () => {
  const pagesDir = PAGES.pathname;
  const requested: string[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      const name = new URL(request.url).pathname.slice(1);
      requested.push(name);
      if (!/^[\w-]+\.html$/.test(name)) {
        return new Response("not found", { status: 404 });
      }
      try {
        const body = await Deno.readFile(`${pagesDir}${name}`);
        return new Response(body, {
          headers: { "content-type": "text/html; charset=utf-8" },
        });
      } catch {
        return new Response("not found", { status: 404 });
      }
    },
  );
  const origin = `http://127.0.0.1:${server.addr.port}`;

  try {
    await withBrowser(async (browser) => {
      const items = await browser.openPage(`${origin}/items.html`);
      assert.equal(await items.evaluate<number>(countAll("li.item")), 100);
      assert.deepEqual(items.errors, []);

      const missing = await browser.openPage(`${origin}/missing-script.html`);
      assert.deepEqual(missing.errors, [
        `HTTP 404: ${origin}/does-not-exist.js`,
      ]);
    });
  } finally {
    await server.shutdown();
  }
  assert.ok(requested.includes("items.html"));
  assert.ok(requested.includes("does-not-exist.js"));
});

Deno.test("openPage() times out on a busy page", async () => {
  await withBrowser(async (browser) => {
    const url = pageUrl("busy-loop.html");
    const started = performance.now();
    const error = await browser.openPage(url, { timeoutMs: 1000 }).then(
      () => assert.fail("openPage() resolved on a page that never loads"),
      (error: unknown) => error,
    );
    assert.ok(error instanceof BrowserTimeoutError);
    assert.equal(error.url, url.href);
    assert.equal(error.timeoutMs, 1000);
    assert.ok(error.message.includes(url.href), error.message);
    // Far below the 30 s default, so the 1 s limit was applied.
    assert.ok(performance.now() - started < 10_000);
  });
});

Deno.test("openPage() names a missing file", async () => {
  await withBrowser(async (browser) => {
    const url = pageUrl("no-such-page.html");
    await assert.rejects(
      browser.openPage(url),
      (error: Error) =>
        error.message.startsWith(`openPage() failed to load ${url.href}: `),
    );
  });
});

Deno.test("openPage() rejects non-local and relative URLs", async () => {
  await assert.rejects(openPage("https://example.com/"), TypeError);
  await assert.rejects(openPage("http://10.0.0.1/page.html"), TypeError);
  await assert.rejects(openPage("tests/pages/items.html"), TypeError);
});

Deno.test("evaluate() names the URL when the expression throws", async () => {
  await withBrowser(async (browser) => {
    const url = pageUrl("items.html");
    const page = await browser.openPage(url);
    await assert.rejects(
      page.evaluate("undefinedName.length"),
      (error: Error) =>
        error.message.startsWith(`evaluate() failed on ${url.href}`) &&
        error.message.includes("undefinedName is not defined"),
    );
  });
});

Deno.test("evaluate() times out on a promise that never settles", async () => {
  await withBrowser(async (browser) => {
    const page = await browser.openPage(pageUrl("items.html"));
    await assert.rejects(
      page.evaluate("new Promise(() => {})", 300),
      BrowserTimeoutError,
    );
  });
});

Deno.test("waitFor() resolves once a late element appears", async () => {
  await withBrowser(async (browser) => {
    const page = await browser.openPage(pageUrl("add-later.html"));
    assert.equal(await page.evaluate<number>(countAll("#done")), 0);
    await page.evaluate("addDoneAfter(100)");
    await page.waitFor("document.getElementById('done') !== null");
    assert.equal(await page.evaluate<number>(countAll("#done")), 1);
  });
});

Deno.test("waitFor() times out on an element that never appears", async () => {
  await withBrowser(async (browser) => {
    const url = pageUrl("add-later.html");
    const page = await browser.openPage(url);
    await assert.rejects(
      page.waitFor("document.getElementById('never') !== null", 300),
      (error: Error) =>
        error instanceof BrowserTimeoutError &&
        error.message.includes(url.href),
    );
  });
});

Deno.test("withBrowser() cleans up when its callback throws", async () => {
  let browserSeen: HeadlessBrowser | undefined;
  await assert.rejects(
    withBrowser(async (browser) => {
      browserSeen = browser;
      await browser.openPage(pageUrl("items.html"));
      assert.ok((await processesMentioning(browser.tempDir)).length > 0);
      throw new Error("callback failed");
    }),
    { message: "callback failed" },
  );
  assert.ok(browserSeen);
  assert.equal(await exists(browserSeen.tempDir), false);
  assert.deepEqual(await processesMentioning(browserSeen.tempDir), []);
});

Deno.test("launchBrowser() close() is idempotent", async () => {
  const browser = await launchBrowser();
  await Promise.all([browser.close(), browser.close()]);
  await browser.close();
  assert.equal(await exists(browser.tempDir), false);
});

Deno.test("launchBrowser() rejects a missing executable", async () => {
  await assert.rejects(
    launchBrowser({ executablePath: "/nonexistent/chromium" }),
    (error: Error) =>
      error.message.startsWith(
        "launchBrowser() failed to start /nonexistent/chromium: ",
      ),
  );
  const notExecutable = pageUrl("items.html").pathname;
  await assert.rejects(
    launchBrowser({ executablePath: notExecutable }),
    (error: Error) =>
      error.message.startsWith(
        `launchBrowser() failed to start ${notExecutable}: it is not an executable file.`,
      ),
  );
});

Deno.test("close() kills a browser that stopped responding", async () => {
  const browser = await launchBrowser({ closeTimeoutMs: 500 });
  Deno.kill(await mainBrowserPid(browser.tempDir), "SIGSTOP");

  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve("still running"), 15_000);
  });
  let outcome: string;
  let leftover: number[];
  try {
    outcome = await Promise.race([
      browser.close().then(() => "closed"),
      limit,
    ]);
    leftover = await processesMentioning(browser.tempDir);
  } finally {
    clearTimeout(timer);
    // If close() failed to kill them, the test still must not leave them.
    for (const pid of await processesMentioning(browser.tempDir)) {
      Deno.kill(pid, "SIGKILL");
    }
  }
  assert.equal(outcome, "closed");
  assert.deepEqual(leftover, []);
  assert.equal(await exists(browser.tempDir), false);
});
