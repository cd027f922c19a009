"""The sliders, tested where learners use them: each notebook with sliders is opened in
JupyterLab in a real browser (Debian's Chromium driven by Playwright), run from the top down to
its last cell with a slider (the cells below it nbval runs and compares with their stored outputs),
and every slider is moved; the picture beneath it must change and no new error may appear.
And notebook 01's first screen, as a 1366x768 screen shows it, must hold the answer to the
learner's question and the whole fix, a diff whose removed and added lines JupyterLab draws in colours of
their own (a fenced ```diff block it draws in one colour).

Screenshots land in artifacts/browser/ (git-ignored). Needs Chromium: on Debian or Ubuntu
`sudo apt-get install chromium`; set AE_CHROMIUM to use another Chromium binary.
"""

from __future__ import annotations

import json
import os
import shutil
import urllib.request

import nbformat
import pytest
from lab_server import ROOT, running_lab

ARTIFACTS = ROOT / "artifacts" / "browser"
NOTEBOOKS_WITH_SLIDERS = [
    "01_linear_autoencoder_from_raw_tensors.ipynb",
    "02_autoencoder_as_nn_module.ipynb",
    "03_sequential_autoencoder_on_mnist.ipynb",
    "04_linear_autoencoder_versus_pca.ipynb",
    "05_convolutional_and_denoising_autoencoders.ipynb",
    "06_variational_autoencoders_and_what_codes_are_good_for.ipynb",
]
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    path = os.environ.get("AE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail(
            "No Chromium found for the browser test. Install it: `sudo apt-get install chromium` on "
            "Debian/Ubuntu, or set AE_CHROMIUM to a Chromium binary. (Playwright's own browser "
            "download is not used.)",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab started by the README's `make lab`, rendering every cell (no windowing), never saving a
    notebook it runs (its autosave would write this run's outputs over the stored ones in notebooks/), and
    never asking whether to fetch Jupyter's news (its pop-up would cover part of every screenshot)."""
    home = tmp_path_factory.mktemp("lab")
    for plugin, setting in [
        ("notebook-extension/tracker", '{"windowingMode": "none"}'),
        ("docmanager-extension/plugin", '{"autosave": false}'),
        ("apputils-extension/notification", '{"fetchNews": "false", "checkForUpdates": false}'),
    ]:
        path = home / "settings" / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(setting)
    quick_cpu = {"CI": os.environ.get("CI", "true"), "AE_DEVICE": os.environ.get("AE_DEVICE", "cpu")}
    # No output is compared here, so the kernels run with the machine's own kernels, not make test's portable ones
    # (which serve nbval's comparison): they ran notebook 06 1.27 times as fast (46 s against 58 s at one thread).
    quick_cpu["ATEN_CPU_CAPABILITY"] = None
    with running_lab(home, quick_cpu) as server:
        yield server


@pytest.fixture(scope="module")
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api", reason="the browser test needs playwright")
    executable = chromium_path()
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            yield chromium
        finally:
            chromium.close()


def _shut_down_kernels(url: str, token: str) -> None:
    """Stop every kernel the lab runs, so that a finished notebook's kernel holds no memory or CPU (its Play
    widget, say) while the next notebook runs."""
    with urllib.request.urlopen(f"{url}/api/kernels?token={token}", timeout=10) as response:
        kernels = json.loads(response.read())
    for kernel in kernels:
        request = urllib.request.Request(f"{url}/api/kernels/{kernel['id']}?token={token}", method="DELETE")
        urllib.request.urlopen(request, timeout=30).close()


def _wait_for_idle_kernel(page, timeout_ms: int) -> None:
    """Until JupyterLab's status bar says the kernel is idle."""
    page.wait_for_function(
        "() => (document.querySelector('#jp-main-statusbar')?.textContent || '').includes('Idle')", timeout=timeout_ms
    )


def _menu(page, top: str, item: str) -> None:
    page.click(f"div.lm-MenuBar-itemLabel:text-is('{top}')")
    page.click(f"li.lm-Menu-item:has-text('{item}')")


def _after_last_slider(notebook: str) -> int | None:
    """The index of the cell after the notebook's last cell that stores a widget, None if that cell is the last."""
    cells = nbformat.read(ROOT / "notebooks" / notebook, as_version=4).cells
    widget = "application/vnd.jupyter.widget-view+json"
    last = max(i for i, c in enumerate(cells) if any(widget in out.get("data", {}) for out in c.get("outputs", [])))
    return last + 1 if last + 1 < len(cells) else None


def _errors(page) -> list[str]:
    return page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").all_inner_texts()


@pytest.mark.parametrize("notebook", NOTEBOOKS_WITH_SLIDERS)
def test_sliders_render_and_redraw_in_jupyterlab(lab, browser, notebook):
    url, token = lab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    stem = notebook.removesuffix(".ipynb")
    stored = (ROOT / "notebooks" / notebook).read_bytes()
    try:
        page.goto(f"{url}/lab/workspaces/{stem}/tree/{notebook}?token={token}")  # one workspace per notebook: one tab
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
        # The kernel is ready when the status bar says so (a cold start imports torch: give it time).
        _wait_for_idle_kernel(page, 180_000)
        _menu(page, "Edit", "Clear Outputs of All Cells")
        # Run down to the last slider cell only: the cells below it are nbval's to run and compare. Clicking the
        # prompt beside the cell after it selects that cell without opening a markdown cell's editor.
        stop = _after_last_slider(notebook)
        if stop is not None:
            page.locator(".jp-Notebook .jp-Cell").nth(stop).locator(".jp-InputPrompt").click()
        run = "Run All Cells" if stop is None else "Run All Above Selected Cell"
        for attempt in range(3):  # a click that lands while the kernel is still connecting does nothing
            _menu(page, "Run", run)
            try:
                page.wait_for_function(  # the run has started: some prompt shows [*] or a number
                    "() => [...document.querySelectorAll('.jp-InputPrompt')]"
                    ".some(p => /\\[(\\*|\\d+)\\]/.test(p.textContent))",
                    timeout=60_000,
                )
                break
            except Exception:
                if attempt == 2:
                    raise
        page.wait_for_selector(".widget-slider", timeout=300_000)
        page.wait_for_function(
            "() => ![...document.querySelectorAll('.jp-InputPrompt')].some(p => p.textContent.includes('*'))",
            timeout=300_000,
        )
        assert page.locator("text=Loading widget").count() == 0, "a widget did not render"
        assert page.get_by_text("official Jupyter news").count() == 0, "JupyterLab's news pop-up is showing"
        assert page.locator(".jp-OutputArea-output:has-text('VBox(children=')").count() == 0, "a widget shows as text"
        errors_before = _errors(page)

        sliders = page.locator(".widget-slider")
        assert sliders.count() > 0
        for i in range(sliders.count()):
            slider = sliders.nth(i)
            panel = page.locator(".widget-vbox").filter(has=slider).last
            picture = panel.locator(".widget-output img").first
            picture.wait_for(timeout=60_000)
            before = picture.get_attribute("src")
            handle = slider.locator(".noUi-handle").first
            handle.scroll_into_view_if_needed()
            handle.focus()
            page.keyboard.press("ArrowRight")  # one step: one change, one redraw
            try:
                page.wait_for_function(
                    "([panel, old]) => { const img = panel.querySelector('.widget-output img');"
                    " return img !== null && img.getAttribute('src') !== old; }",
                    arg=[panel.element_handle(), before],
                    timeout=60_000,
                )
            except Exception:
                page.screenshot(path=str(ARTIFACTS / f"{stem}-failed.png"))
                new_errors = [e for e in _errors(page) if e not in errors_before]
                pytest.fail(
                    f"{notebook}: the picture beneath slider {i + 1} did not change within 60 s after the "
                    f"slider moved; is its callback broken? New error output: {new_errors or 'none'}",
                    pytrace=False,
                )
        # Let the last redraw finish, so that the screenshot shows every panel's picture rather than an
        # output cleared for the next one.
        _wait_for_idle_kernel(page, 120_000)
        page.wait_for_function(
            "() => [...document.querySelectorAll('.widget-vbox')]"
            ".filter(box => box.querySelector('.widget-slider') && box.querySelector('.widget-output'))"
            ".every(box => box.querySelector('.widget-output img'))",
            timeout=60_000,
        )
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / f"{stem}.png"), full_page=True)
        assert _errors(page) == errors_before, "moving a slider printed an error"
    except BaseException:
        page.screenshot(path=str(ARTIFACTS / f"{stem}-failed.png"))
        raise
    finally:
        page.close()
        _shut_down_kernels(url, token)
    overwritten = (ROOT / "notebooks" / notebook).read_bytes() != stored
    assert not overwritten, (
        f"JupyterLab wrote {notebook} while the test ran it: its stored outputs were overwritten "
        f"(restore them with git checkout notebooks/{notebook})"
    )


# What a 1366x768 screen shows of a page: the browser's own tabs and address bar take about 110 px.
FIRST_SCREEN = {"width": 1366, "height": 768 - 110}
# The three-line answer to "why was my loss flat?" (issue 12): each phrase must be on the first screen.
FIRST_SCREEN_ANSWER = [
    "handed the data, not the weights",
    "computed once, outside the loop",
    "retain_graph=True",
]
# And after the fix, how to see it work (issue 18).
FIRST_SCREEN_AFTER_DIFF = "Then plt.plot(losses) draws the loss against step"

# Where each phrase is drawn: the rectangle of its first occurrence that is drawn at all (a Range over the
# notebook's text nodes; a rendered markdown cell also holds its source, hidden, in an editor that draws nothing),
# and the bottom of what shows of the notebook (the window or the notebook panel, whichever ends first).
_WHERE_PHRASES_ARE = """(phrases) => {
  const root = document.querySelector('.jp-Notebook');
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const nodes = []; let text = '';
  while (walker.nextNode()) { nodes.push([walker.currentNode, text.length]); text += walker.currentNode.textContent; }
  const shown = Math.min(window.innerHeight, root.getBoundingClientRect().bottom);
  const locate = (i) => {
    let k = nodes.length - 1;
    while (nodes[k][1] > i) k--;
    return [nodes[k][0], i - nodes[k][1]];
  };
  return phrases.map(phrase => {
    for (let at = text.indexOf(phrase); at >= 0; at = text.indexOf(phrase, at + 1)) {
      const [startNode, startOffset] = locate(at), [endNode, endOffset] = locate(at + phrase.length - 1);
      const range = document.createRange();
      range.setStart(startNode, startOffset); range.setEnd(endNode, endOffset + 1);
      const box = range.getBoundingClientRect();
      if (box.height > 0) return {phrase, found: true, top: box.top, bottom: box.bottom, shown};
    }
    return {phrase, found: false};
  });
}"""


# The fix, as notebook 01's first cell shows it: the lines of the first <pre> there that holds `retain_graph`, each
# with the rectangle it is drawn in and its looks (computed colour on the first background behind it that is not
# transparent), one for each text node it is drawn from; and the part of the window that shows the notebook.
_DIFF_LINES = """() => {
  const cell = document.querySelector('.jp-Notebook .jp-Cell .jp-RenderedMarkdown');
  const pre = [...cell.querySelectorAll('pre')].find(p => p.textContent.includes('retain_graph'));
  if (!pre) return null;
  const notebook = document.querySelector('.jp-Notebook').getBoundingClientRect();
  const walker = document.createTreeWalker(pre, NodeFilter.SHOW_TEXT);
  const nodes = []; let text = '';
  while (walker.nextNode()) { nodes.push([walker.currentNode, text.length]); text += walker.currentNode.textContent; }
  const look = (node) => {
    const drawn = node.parentElement;
    let background = 'transparent';
    for (let e = drawn; e && e !== cell.parentElement; e = e.parentElement) {
      const b = getComputedStyle(e).backgroundColor;
      if (b !== 'transparent' && b !== 'rgba(0, 0, 0, 0)') { background = b; break; }
    }
    return `${getComputedStyle(drawn).color} on ${background}`;
  };
  const lines = []; let start = 0;
  for (const line of text.split('\\n')) {
    const end = start + line.length;
    if (line.trim()) {
      const parts = nodes.filter(([node, at]) => at < end && at + node.textContent.length > start);
      const range = document.createRange();
      range.setStart(parts[0][0], start - parts[0][1]);
      range.setEnd(parts[parts.length - 1][0], end - parts[parts.length - 1][1]);
      const box = range.getBoundingClientRect();
      lines.push({line, top: box.top, bottom: box.bottom, right: box.right,
                  looks: [...new Set(parts.map(([node]) => look(node)))]});
    }
    start = end + 1;
  }
  return {lines, top: Math.max(0, notebook.top), bottom: Math.min(window.innerHeight, notebook.bottom),
          right: Math.min(window.innerWidth, notebook.right, pre.getBoundingClientRect().right)};
}"""


def _diff_problems(diff) -> list[str]:
    """What is wrong with the fix's diff: a line of it (the retain_graph lines among them) outside the first screen,
    or removed, added and unchanged lines not each drawn in looks (colour on background) that the others never use."""
    if not diff:
        return ["notebook 01's first cell shows no diff of the fix (no <pre> in it holds retain_graph)"]
    lines = diff["lines"]
    kinds = {"removed": "-", "added": "+", "unchanged": " "}
    by_kind = {kind: [line for line in lines if line["line"].startswith(sign)] for kind, sign in kinds.items()}
    if not all(by_kind.values()):
        return [f"the diff needs removed, added and unchanged lines; it has {[line['line'] for line in lines]}"]
    problems = []
    if not any("retain_graph=True" in line["line"] for line in by_kind["removed"]):
        problems.append("the diff removes no retain_graph=True line")
    if not any(line["line"][1:].strip() == "loss.backward()" for line in by_kind["added"]):
        problems.append("the diff adds no loss.backward() line")
    outside = [
        f"{line['line'].strip()!r} at {line['top']:.0f}-{line['bottom']:.0f} px, right edge {line['right']:.0f} px"
        for line in lines
        if line["top"] < diff["top"] or line["bottom"] > diff["bottom"] or line["right"] > diff["right"]
    ]
    if outside:
        problems.append(
            f"diff lines outside the first screen (it shows {diff['top']:.0f}-{diff['bottom']:.0f} px down and up "
            f"to {diff['right']:.0f} px across): {outside}"
        )
    looks = {kind: {look for line in group for look in line["looks"]} for kind, group in by_kind.items()}
    for one, other in [("removed", "added"), ("removed", "unchanged"), ("added", "unchanged")]:
        if shared := looks[one] & looks[other]:
            problems.append(
                f"the diff's {one} and {other} lines are drawn alike, {sorted(shared)}: a reader cannot tell them "
                f"apart (looks of {one} lines: {sorted(looks[one])}; of {other} lines: {sorted(looks[other])})"
            )
    return problems


def test_notebook_01_answers_the_question_on_its_first_screen(lab, browser):
    """The learner opens notebook 01 and, before scrolling, reads why their loss was flat, sees the whole fix with
    its removed and added lines in colours of their own, and how to plot the loss."""
    url, token = lab
    page = browser.new_page(viewport=FIRST_SCREEN)
    notebook = NOTEBOOKS_WITH_SLIDERS[0]
    stem = notebook.removesuffix(".ipynb")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        page.goto(f"{url}/lab/workspaces/{stem}-first-screen/tree/{notebook}?token={token}")
        page.wait_for_selector(".jp-Notebook .jp-Cell .jp-RenderedMarkdown", timeout=60_000)
        page.wait_for_timeout(1_000)  # let the fonts and the layout settle
        page.screenshot(path=str(ARTIFACTS / f"{stem}-first-screen.png"))
        where = page.evaluate(_WHERE_PHRASES_ARE, [*FIRST_SCREEN_ANSWER, FIRST_SCREEN_AFTER_DIFF])
        diff = page.evaluate(_DIFF_LINES)
    finally:
        page.close()
        _shut_down_kernels(url, token)
    problems = _diff_problems(diff)
    missing = [w["phrase"] for w in where if not w["found"]]
    if missing:
        problems.append(f"notebook 01 shows nowhere {missing}")
    where = [w for w in where if w["found"]]
    below = [f"{w['phrase']!r} at {w['top']:.0f}-{w['bottom']:.0f} px" for w in where if w["bottom"] > w["shown"]]
    if below:
        problems.append(f"below the first screen ({where[0]['shown']:.0f} px of notebook shows): {below}")
    above = [w["phrase"] for w in where if w["top"] < 0]
    if above:
        problems.append(f"above the first screen: {above}")
    assert not problems, "notebook 01's first screen:\n- " + "\n- ".join(problems)
