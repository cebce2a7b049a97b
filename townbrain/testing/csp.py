"""Browser tests fail on a Content-Security-Policy violation (docs/security.md).

`CSPWatch(chromium)` stands in for Playwright's Browser in the browser tests' fixtures: every context
made through it reports each violation — the page's own `securitypolicyviolation` event (an init
script, run before any script of the page) and Chromium's "Refused to …" console message alike — and
the fixture calls `check()` after the test, which fails naming what was refused and where. It adds no
page load: the listeners ride along with the pages the test opens anyway.
"""

# Runs in every page and frame before the page's own scripts; init scripts are not subject to the
# page's policy. It logs in words the console listener below looks for.
LISTENER = """
document.addEventListener("securitypolicyviolation", function (e) {
  console.error("Content Security Policy violation: " + e.effectiveDirective + " blocked " +
                (e.blockedURI || "inline") + " in " + e.documentURI +
                (e.sourceFile ? " (" + e.sourceFile + ":" + e.lineNumber + ")" : "") +
                (e.sample ? " sample: " + e.sample : ""));
}, true);
"""

MARK = "Content Security Policy"


class CSPWatch:
    """A Playwright Browser whose contexts record CSP violations; everything else passes through."""

    def __init__(self, browser):
        self._browser = browser
        self._contexts = []
        self.violations: list[str] = []

    def __getattr__(self, name):
        return getattr(self._browser, name)

    def new_context(self, **kwargs):
        context = self._browser.new_context(**kwargs)
        context.add_init_script(LISTENER)
        context.on("console", self._console)
        self._contexts.append(context)
        return context

    def new_page(self, **kwargs):
        page = self.new_context(**kwargs).new_page()
        return page

    def _console(self, message):
        text = message.text
        if MARK in text:
            url = (message.location or {}).get("url", "")
            self.violations.append(f"{text}" + (f" [{url}]" if url and url not in text else ""))

    def check(self):
        """Fail if any page of the test broke the policy. A round trip to each open page first
        delivers console messages still on their way."""
        for context in self._contexts:
            for page in list(context.pages):
                try:
                    page.evaluate("0")
                except Exception:  # a page closing or navigating: its messages are in already
                    pass
        if self.violations:
            seen = list(dict.fromkeys(self.violations))
            raise AssertionError("Content-Security-Policy violations:\n  " + "\n  ".join(seen))
