/**
 * Escaping helpers for the course pages.
 *
 * @module
 */

const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => HTML_ESCAPES[character]);
}

// CSI sequences (colours, cursor moves) and OSC sequences (titles, links).
const ANSI_ESCAPE =
  // deno-lint-ignore no-control-regex
  /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)/g;

/** Removes ANSI colour and cursor escape sequences, as terminals print them. */
export function stripAnsi(text: string): string {
  return text.replace(ANSI_ESCAPE, "");
}

/**
 * Serializes a value as JSON that is safe inside `<script type="application/json">`.
 *
 * Every `<` becomes `\u003c`, so the text can never contain `</script>` or
 * `<!--`, and `JSON.parse` still returns the same value.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c");
}
