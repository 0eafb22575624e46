"""End to end: every string a user or a log supplies holds hostile markup, and every page of the app
shows it as inert text, in a real (headless) chromium.

The workspace, built below through the library, puts a payload in each such field: the log file's
name, a record's model, system prompt, request, response, tool call arguments, error and metadata, a
quarantined line, two reviewers, a tag and its description, corrections and notes, a renamed failure
mode and its keywords, a SQL rule's name and description, two evaluation runs, an answer, a golden
item's check and reference, an export's name and author. A payload holds a :red[...] colour, a
markdown image and a javascript: link, raw HTML (an image whose onerror would set window.__pwned,
a link: plotly reads <a> in chart text), bold, an
emoji and an icon shortcode, math, a bare URL, a www. address and an e-mail; the longer texts add a
heading, a quote, a table and an indented line.

One served app, one browser: each page from the sidebar, each of its tabs, a record, a failure mode
and the adjudication list open, a few option lists open. After each view: (a) no request left the
app's origin (any other is refused and recorded), (b) nothing a payload would create is in the page
(an image or link to evil.invalid, a colour span, KaTeX, an icon, an emoji, bold or a heading made of
a payload, window.__pwned), (c) each field shown there reads as its literal payload.
"""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta, timezone
from pathlib import Path

import pytest

from browser import needs_chromium, open_nav, select_row, shown
from mining.cluster import rename_cluster
from mining.detect import add_rule
from mining.evaluate.checks import parse_check
from mining.evaluate.items import set_item_checks
from mining.evaluate.runs import evaluate_file
from mining.export.golden import add_golden
from mining.ingest import ingest_paths
from mining.report.period import last_week
from mining.review import add_tag, save_review
from mining.store import Workspace

from review_data import add_cluster_run  # noqa: E402

pytestmark = needs_chromium
WORD_JOINER = "\u2060"  # ui.plain's invisible break in would-be links: not part of what a reader sees
LOCAL = ("data:", "blob:")
RULE = "__zqRL__"  # a rule's name is letters, digits, '_' and '-': this one would still be bold in markdown


def hostile(code: str) -> str:
    """One line of every kind of markup; the colour comes first, so that cut labels keep it."""
    t = f"zq{code}"
    return (f":red[c{t}] ![i{t}](http://evil.invalid/{t}.png) [l{t}](javascript:window.__pwned=1) "
            f'<img src=x onerror="window.__pwned=1"> <a href="http://evil.invalid/a">a{t}</a> **b{t}** :smile: '
            f":material/home: $x^2$ "
            f"http://evil.invalid/u{t} www.evil.invalid m{t}@evil.invalid")


def hostile_text(code: str) -> str:
    """Several lines: block markup too."""
    return hostile(code) + f"\n# h zq{code}\n> q zq{code}\n| a | zq{code} |\n|---|---|\n| 1 | 2 |\n    code zq{code}"


def literal(code: str) -> str:
    """What must be read on the page wherever the field is shown: the colour directive as typed."""
    return f":red[czq{code}]"


# The file's name: no '/' in a name, so the image's URL uses the fraction slash.
FILE_NAME = (":red[czqFN] ![izqFN](http:\u2044\u2044evil.invalid\u2044f.png) <img src=x onerror=window.__pwned=1> "
             "**bzqFN** :smile: www.evil.invalid mzqFN@evil.invalid.jsonl")
REVIEWER_A, REVIEWER_B = hostile("RA"), hostile("RB")


def reported_moment() -> datetime:
    """Noon on the Wednesday of last week: the week the Report page opens on."""
    period = last_week(datetime.now(timezone.utc).date())
    return datetime.combine(period.start + timedelta(days=2), time(12), tzinfo=timezone.utc)


def log_lines(when: str) -> list[dict]:
    """A hostile call with a tool call, a failed call, a call that becomes a golden item."""
    main = {"id": "h-main", "timestamp": when, "metadata": {"team": hostile("MT")},
            "request": {"model": hostile("MD"), "messages": [{"role": "system", "content": hostile("SY")},
                                                              {"role": "user", "content": hostile_text("RQ")}],
                        "tools": [{"type": "function", "function": {"name": "lookup", "parameters": {
                            "type": "object", "properties": {"q": {"type": "string"}}}}}]},
            "response": {"choices": [{"message": {"role": "assistant", "content": hostile_text("RS"), "tool_calls": [
                {"id": "call_1", "type": "function",
                 "function": {"name": "lookup", "arguments": json.dumps({"q": hostile("TC")})}}]},
                "finish_reason": "tool_calls"}]},
            "feedback": {"thumbs": "down"}}
    failed = {"id": "h-error", "timestamp": when, "error": hostile_text("ER"),
              "request": {"model": hostile("MD"), "messages": [{"role": "user", "content": "Why did this fail?"}]},
              "feedback": {"thumbs": "down"}}
    golden = {"id": "h-golden", "timestamp": when, "feedback": {"thumbs": "down"},
              "request": {"model": hostile("MD"), "messages": [{"role": "user", "content": hostile("GQ")}]},
              "response": {"choices": [{"message": {"role": "assistant", "content": "A wrong answer."},
                                        "finish_reason": "stop"}]}}
    return [main, failed, golden]


def build(workspace: Workspace, folder: Path) -> dict[str, str]:
    """Every hostile field in one workspace, through the library where it has a way in; source id -> record id."""
    moment = reported_moment()
    path = folder / FILE_NAME
    lines = [json.dumps(line) for line in log_lines(moment.isoformat().replace("+00:00", "Z"))]
    path.write_text("\n".join(lines + ["not json " + hostile("QL")]) + "\n", encoding="utf-8")
    ingest_paths(workspace, [path])
    ids = dict(workspace.cursor().execute("SELECT source_id, record_id FROM records").fetchall())
    members = [ids["h-main"], ids["h-error"], ids["h-golden"]]

    add_cluster_run(workspace, [(0, 3, 2.0, "new", members)], run_id="run-hostile", finished_at=moment)
    cursor = workspace.cursor()
    cursor.execute("UPDATE cluster_runs SET n_points = 3")  # the three calls are on the map
    cursor.execute("UPDATE clusters SET keywords = ?, examples = ? WHERE cluster_id = 0",
                   [json.dumps([hostile("KW")]), json.dumps([ids["h-main"]])])
    for index, record_id in enumerate(members):
        cursor.execute("UPDATE cluster_members SET x = ?, y = ? WHERE record_id = ?", [index, index, record_id])
    rename_cluster(workspace, 0, hostile("MN"), renamed_by=REVIEWER_A)
    add_rule(workspace, RULE, "model LIKE '%evil.invalid%'", hostile("RD"))

    tag = add_tag(workspace, hostile("TG"), hostile("TD"), by=REVIEWER_A)
    save_review(workspace, ids["h-main"], REVIEWER_A, verdict="hard_example", tags=[tag.tag_id],
                correction=hostile_text("CR"), note=hostile_text("NT"), at=moment)
    save_review(workspace, ids["h-main"], REVIEWER_B, verdict="not_a_failure", correction=hostile_text("CB"),
                note=hostile("NB"), at=moment + timedelta(hours=1))  # a disagreement: on the adjudication list
    save_review(workspace, ids["h-golden"], REVIEWER_A, verdict="hard_example", tags=[tag.tag_id],
                correction=hostile("RF"), at=moment)

    add_golden(workspace, [ids["h-golden"]], added_by=REVIEWER_A)
    set_item_checks(workspace, ids["h-golden"], [parse_check("contains:" + hostile("CK"))])
    for name, answer in ((hostile("EV"), hostile_text("AN")), (hostile("EW"), hostile("RF"))):
        answers = folder / "answers.jsonl"
        answers.write_text(json.dumps({"id": "h-golden", "answer": answer}) + "\n", encoding="utf-8")
        evaluate_file(workspace, name, answers, checks=["normalized"], created_by=REVIEWER_A)
    cursor.execute("UPDATE eval_runs SET created_at = ?, updated_at = ?", [moment, moment])

    # An export as the library records it; its name is written directly, since the Export page only
    # accepts letters, digits, '.', '_' and '-' (a name is still shown wherever one is).
    report = json.dumps({"kinds": {"sft": {"rows": 1}}, "golden": 1, "leaks": 0, "warnings": [hostile("EX")]})
    cursor.execute("INSERT INTO exports (export_id, name, version, folder, created_at, created_by, kinds, manifest,"
                   " report) VALUES ('export-1', ?, 1, ?, ?, ?, ['sft'], '{}', ?)",
                   [hostile("EX"), str(folder / "export"), moment, hostile("EB"), report])
    return ids


@pytest.fixture(scope="module")
def hostile_workspace(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    folder = tmp_path_factory.mktemp("hostile")
    workspace = Workspace.open(folder / "workspace.duckdb")
    ids = build(workspace, folder)
    Workspace.close_all()
    return folder / "workspace.duckdb", ids


@pytest.fixture
def workspace_file(hostile_workspace) -> Path:
    return hostile_workspace[0]


# What a payload would make, were it read as markdown or HTML: looked for in the whole document.
MADE_BY_A_PAYLOAD = """() => {
  const found = [];
  const add = (what, nodes) => { for (const node of nodes) found.push(`${what}: ${node.outerHTML.slice(0, 200)}`); };
  const markdown = '[data-testid="stMarkdownContainer"]';
  add("image", document.querySelectorAll('img[src*="evil"], img[src="x"], image[*|href*="evil"]'));
  add("link", document.querySelectorAll('a[*|href*="evil"], a[*|href^="javascript"], a[*|href^="mailto"]'));
  add("colour", document.querySelectorAll('.stMarkdownColoredText, .stMarkdownColoredBackground'));
  add("math", document.querySelectorAll('.katex, .katex-display, mjx-container'));
  add("icon", [...document.querySelectorAll(`${markdown} span[role="img"]`)]);
  add("markup", [...document.querySelectorAll(`${markdown} :is(strong, b, em, i, del, h1, h2, h3, h4, h5, h6, ` +
                                              `blockquote, table, pre, code, li, a), svg a`)]
                  .filter(node => node.textContent.includes("zq"))
                  .filter(node => !(/^H[1-6]$/.test(node.tagName) && node.closest('[data-testid="stHeading"]'))));
  if (/[\\u{1F600}-\\u{1F64F}\\u{1F44D}]/u.test(document.body.innerText)) found.push("emoji: " +
      document.body.innerText.match(/.{0,40}[\\u{1F600}-\\u{1F64F}\\u{1F44D}].{0,40}/u)[0]);
  if (window.__pwned !== undefined) found.push("script: window.__pwned is set");
  return found;
}"""

# Everything the page reads as text: the document's, the table cells' (a grid is drawn on a canvas,
# its cells are also in the DOM for screen readers) and the charts' (SVG text).
PAGE_TEXT = """() => [document.body.innerText,
  ...[...document.querySelectorAll('[role="gridcell"], [role="columnheader"], svg text')].map(n => n.textContent)
].join("\\n")"""


class Watch:
    """The page's requests outside the app (refused), dialogs, and the checks run after each view."""

    def __init__(self, page, app_url: str) -> None:
        self.page, self.app_url = page, app_url
        self.outside: list[str] = []
        self.dialogs: list[str] = []
        page.route("**/*", self.route)
        page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))

    def route(self, handle, request) -> None:
        if request.url.startswith((self.app_url, *LOCAL)):
            handle.continue_()
        else:
            self.outside.append(request.url)
            handle.abort()

    def settled(self) -> None:
        """Wait until no script runs (Streamlit's "Running..." status is gone); fail on a traceback."""
        from playwright.sync_api import expect

        self.page.wait_for_timeout(400)
        expect(self.page.locator('[data-testid="stStatusWidget"]')).to_have_count(0)
        crash = self.page.locator('[data-testid="stException"]')
        if crash.count():
            pytest.fail(f"the app raised: {crash.first.inner_text()}")

    def check(self, view: str, *codes: str, also: tuple[str, ...] = ()) -> None:
        """(c), then (b) and (a), for what is on screen now: `codes` are the fields whose payload must
        be read there (tables and charts draw a moment after the script ends: waited for)."""
        self.settled()
        wanted = [literal(code) for code in codes] + list(also)
        for _ in range(60):
            text = self.page.evaluate(PAGE_TEXT).replace(WORD_JOINER, "")
            missing = [item for item in wanted if item not in text]
            if not missing:
                break
            self.page.wait_for_timeout(500)
        assert missing == [], f"{view}: not shown as text: {missing}; the page reads:\n{text[-3000:]}"
        made = self.page.evaluate(MADE_BY_A_PAYLOAD)
        assert made == [], f"{view}: a payload was rendered as markup: {made}"
        assert self.outside == [], f"{view}: requests left the app: {self.outside}"
        assert self.dialogs == [], f"{view}: dialogs opened: {self.dialogs}"

    def tab(self, name: str) -> None:
        self.page.get_by_role("tab", name=name, exact=True).click()
        self.settled()

    def options(self, widget, view: str, *codes: str) -> None:
        """Open a selectbox or multiselect: its options are plain text too."""
        widget.scroll_into_view_if_needed()
        widget.locator("input").first.click()
        shown(self.page, self.page.locator('[role="listbox"]').first)
        self.check(view, *codes)
        self.page.keyboard.press("Escape")


def test_every_user_or_log_supplied_string_is_inert_text_on_every_page(hostile_workspace, app_url, page):
    from playwright.sync_api import expect

    ids = hostile_workspace[1]
    watch = Watch(page, app_url)
    main = page.locator('[data-testid="stMain"]')
    page.goto(app_url)

    shown(page, page.get_by_role("heading", name="Faultline"))
    watch.check("Overview", "FN")

    open_nav(page, "Ingest")
    shown(page, page.get_by_text("Ingest history"))
    watch.check("Ingest", "FN")

    open_nav(page, "Records")
    shown(page, page.get_by_text("matching records", exact=False))
    watch.check("Records", "RQ", "RS")
    watch.options(main.locator('[data-testid="stMultiSelect"]', has_text="Model"), "Records: the models", "MD")
    for source_id, codes in (("h-error", ("ER",)), ("h-main", ("MD", "FN", "SY", "RQ", "RS"))):
        page.goto(f"{app_url}/records?record={ids[source_id]}")
        shown(page, page.get_by_role("heading", name="Record"))
        watch.check(f"Records: {source_id}", *codes, also=(RULE,) if source_id == "h-main" else ())
    for tab, codes in (("Tool calls", ("TC",)), ("Feedback", ()), ("Details", ("MT", "MD")), ("Raw line", ("RQ",))):
        watch.tab(tab)
        watch.check(f"Records: h-main, {tab}", *codes)

    open_nav(page, "Failures")
    shown(page, page.get_by_text("SQL rules"))
    watch.check("Failures", "RD", also=(RULE,))

    open_nav(page, "Failure modes")
    shown(page, page.get_by_text("Ranked by impact"))
    watch.check("Clusters", "MN")
    grid = main.locator('[data-testid="stDataFrame"]').first
    select_row(page, grid, lambda: expect(page.get_by_text("Most typical examples")).to_be_visible(timeout=10_000))
    watch.check("Clusters: the mode", "MN", "KW", "RQ")

    page.goto(f"{app_url}/review?record={ids['h-main']}")
    reviewer = page.locator('[data-testid="stSidebar"]').get_by_role("textbox", name="Reviewer")
    reviewer.fill("lead")
    reviewer.press("Enter")
    shown(page, page.get_by_role("button", name="Save and next"))
    main.locator('[data-testid="stExpander"]', has_text="Other reviews").locator("summary").click()
    watch.check("Review: the record", "RQ", "RS", "SY", "MN", "RA", "RB", "TG", "CR", "NT", "CB", "NB")
    form = main.locator('[data-testid="stForm"]', has=page.get_by_role("button", name="Save and next"))
    watch.options(form.locator('[data-testid="stMultiSelect"]'), "Review: the tags", "TG")
    for tab, codes in (("Progress", ("RA", "RB", "MN")), ("Agreement", ("RA", "RB", "RQ", "CR", "CB", "TG")),
                       ("Tags", ("TG", "TD")), ("Annotations", ())):
        watch.tab(tab)
        watch.check(f"Review: {tab}", *codes)
        if tab == "Agreement":  # the adjudication list: one button per reviewer, named by the reviewer
            labels = [button.inner_text().replace(WORD_JOINER, "")
                      for button in main.get_by_role("button").filter(has_text="Pick ").all()]
            assert sorted(labels) == sorted(f"Pick {name}'s answer" for name in (REVIEWER_A, REVIEWER_B))
        if tab == "Tags":
            main.locator('[data-testid="stExpander"]', has_text="History").locator("summary").click()
            watch.check("Review: a tag's history", "TG", "RA")

    open_nav(page, "Export")
    preview = shown(page, page.get_by_role("button", name="Preview"))
    watch.check("Export")
    preview.click()
    shown(page, page.get_by_text("Validation report"))
    watch.check("Export: the preview", "MD")  # the golden row, as JSON
    for tab, codes in (("Golden set", ("GQ", "RA")), ("History", ("EX", "EB"))):
        watch.tab(tab)
        watch.check(f"Export: {tab}", *codes)

    open_nav(page, "Evaluate")
    shown(page, page.get_by_text("Golden set: 1 item ", exact=False))
    watch.check("Evaluate")
    watch.tab("Runs")
    watch.check("Evaluate: runs", "EV", "EW", "MN")
    main.locator('[data-testid="stExpander"]', has_text="Every item").locator("summary").click()
    watch.check("Evaluate: the items", "AN", "CK")  # run EV (first by name): its answer, the check in the reason
    watch.tab("Per tag")
    watch.check("Evaluate: per tag")  # shows tag ids (a slug of the name), not names
    for tab, codes in (("Compare", ("EV", "EW")), ("Item checks", ("GQ", "RF", "CK"))):
        watch.tab(tab)
        watch.check(f"Evaluate: {tab}", *codes)

    open_nav(page, "Report")
    shown(page, page.get_by_role("heading", name="Weekly report"))
    shown(page, main.locator('[data-testid="stExpander"]').first)
    watch.settled()
    for expander in main.locator('[data-testid="stExpander"] summary').all():  # examples, scores per mode
        expander.click()
    watch.check("Report", "MN", "KW", "RQ", "RA", "RB", "EX", "EB", "EV", "EW")

    open_nav(page, "Quarantine")
    shown(page, page.get_by_text("quarantined lines", exact=False))
    watch.check("Quarantine", "FN", "QL")
    watch.options(main.locator('[data-testid="stSelectbox"]', has_text="File"), "Quarantine: the files", "FN")
