"""The HTML report, rendered from a real multi-artifact run and opened in real headless Chromium.

The artifacts are built here with h5py, zipfile and kcompat's own SavedModel proto subset;
only the guarded-load matrix (``loads``) and the two findings that need a loaded model or an
environment (KC604, KC808) are filled in by hand, since those stages are not wired yet.
Chromium must be installed (Debian: ``apt-get install -y chromium``); the test fails without it.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import h5py
import pytest

from kcompat.artifacts import protos
from kcompat.config import RunConfig
from kcompat.model import Finding, Layer, Severity
from kcompat.report import WRITERS, html
from kcompat.pipeline.runner import check_paths

SCRIPT_NAME = "<script>document.title='pwned'</script>"
IMG_NAME = "\"><img src=x onerror=\"document.title='pwned'\">"
HOSTILE_FILE = "evil\"><svg onload=document.title='pwned'>.h5"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio",
]


# ------------------------------------------------------------------------------------ artifacts

def dense(name: str, units: int, module: str | None = "keras.layers", registered: str | None = None) -> dict:
    return {"module": module, "class_name": "Dense", "registered_name": registered, "name": name,
            "config": {"name": name, "units": units, "activation": "relu", "trainable": True},
            "inbound_nodes": []}


def keras_zip(path: Path, layers: list[dict]) -> None:
    config = {"module": "keras.src.models.functional", "class_name": "Functional", "registered_name": "Functional",
              "config": {"name": "model", "trainable": True, "layers": layers}}
    weights = io.BytesIO()
    with h5py.File(weights, "w") as handle:
        handle.create_group("layers")
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("metadata.json", json.dumps({"keras_version": "3.15.1", "date_saved": "2026-11-21@05:15:48"}))
        zf.writestr("config.json", json.dumps(config))
        zf.writestr("model.weights.h5", weights.getvalue())


def saved_model(path: Path) -> None:
    message = protos.SavedModel(saved_model_schema_version=1)
    meta = message.meta_graphs.add()
    meta.meta_info_def.tags.append("serve")
    meta.meta_info_def.tensorflow_version = "2.15.0"
    node = meta.graph_def.node.add(name="x", op="Placeholder")
    node.attr["dtype"]  # noqa: B018 - creates the map entry
    sig = meta.signature_def["serving_default"]
    sig.method_name = "tensorflow/serving/predict"
    sig.inputs["x"].name = "serving_default_x:0"
    sig.inputs["x"].dtype = 1
    sig.inputs["x"].tensor_shape.dim.add(size=-1)
    sig.inputs["x"].tensor_shape.dim.add(size=4)
    sig.outputs["y"].name = "StatefulPartitionedCall:0"
    sig.outputs["y"].dtype = 1
    sig.outputs["y"].tensor_shape.dim.add(size=-1)
    sig.outputs["y"].tensor_shape.dim.add(size=2)
    path.mkdir()
    (path / "saved_model.pb").write_bytes(message.SerializeToString())


def build_artifacts(root: Path) -> None:
    (root / "model.h5").write_text(
        "version https://git-lfs.github.com/spec/v1\n"
        "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 20480\n")
    (root / HOSTILE_FILE).write_text(
        "version https://git-lfs.github.com/spec/v1\n"
        "oid sha256:0000000000000000000000000000000000000000000000000000000000000000\nsize 10\n")
    keras_zip(root / "hostile.keras", [
        {"module": "keras.layers", "class_name": "InputLayer", "registered_name": None, "name": "x",
         "config": {"name": "x", "batch_shape": [None, 4], "dtype": "float32"}, "inbound_nodes": []},
        dense(SCRIPT_NAME, 3),
        dense(IMG_NAME, 2),
        {"module": "my_pkg.layers", "class_name": "Scale", "registered_name": "my_pkg>Scale", "name": "scale",
         "config": {"name": "scale", "factor": 2.0}, "inbound_nodes": []},
    ])
    keras_zip(root / "clean.keras", [dense("dense", 3), dense("dense_1", 2)])
    with h5py.File(root / "weights_only.h5", "w") as handle:
        handle.attrs["layer_names"] = [b"dense"]
        handle.attrs["backend"] = "tensorflow"
        handle.attrs["keras_version"] = "2.15.0"
        group = handle.create_group("dense")
        group.attrs["weight_names"] = [b"dense/kernel:0"]
        group.create_dataset("dense/kernel:0", data=[[0.0, 1.0]])
    (root / "model.tflite").write_bytes(b"\x1c\x00\x00\x00TFL3" + bytes(56))
    saved_model(root / "exported")


STATUSES = ["ok", "error", "crash", "timeout", "oom", "skipped", "refused-unsafe"]


def load_matrix() -> list[dict]:
    attempts = []
    loaders = ["keras", "tf_keras", "tf_saved_model"]
    strategies = ["default", "one-device-cpu", "mirrored"]
    i = 0
    for loader in loaders:
        for strategy in strategies:
            status = STATUSES[i % len(STATUSES)]
            attempts.append({
                "loader": loader, "strategy": strategy, "status": status, "wall_s": 1.25 + i,
                "max_abs_diff": 3e-7 if status == "ok" else None,
                "code": "KC801" if status == "error" else None,
                "message": IMG_NAME if status == "error" else ("killed by SIGSEGV" if status == "crash" else None),
            })
            i += 1
    return attempts[:-1]  # leave one (loader, strategy) unattempted


def make_report(root: Path):
    build_artifacts(root)
    report = check_paths([str(root)], RunConfig())
    report.environment = {"python": "3.11.7", "platform": "Linux-x86_64",
                          "versions": {"tensorflow": "2.15.0", "keras": "2.15.0", "h5py": "3.11.0"},
                          "keras_backend": "tensorflow", "devices": [{"name": "/CPU:0", "device_type": "CPU"}],
                          "ops": {f"Op{i}": [] for i in range(50)}, "probe_note": SCRIPT_NAME}
    by_name = {Path(e.artifact.path).name: e for e in report.artifacts}
    by_name["hostile.keras"].loads = load_matrix()
    exported = by_name["exported"]
    exported.findings.append(Finding(code="KC604", name="op-missing", severity=Severity.error,
                                     message="op Hostile<b>Op</b> is not registered", path=exported.artifact.path,
                                     location="serving_default", evidence={"op": "Hostile<b>Op</b>"},
                                     fingerprint="f604"))
    exported.findings.append(Finding(code="KC808", name="static-dynamic-disagree", severity=Severity.warning,
                                     message="static checks passed but the load failed", path=exported.artifact.path,
                                     fingerprint="f808"))
    return report


# ------------------------------------------------------------------------------------ DOM parsing

class Node:
    def __init__(self, tag: str, attrs: dict[str, str | None], parent: Node | None) -> None:
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Node | str] = []

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def iter(self):
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.iter()

    def find_all(self, tag: str | None = None, cls: str | None = None) -> list[Node]:
        return [n for n in self.iter() if (tag is None or n.tag == tag) and (cls is None or cls in n.classes)]


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {}, None)
        self.current = self.root

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs), self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Node(tag, dict(attrs), self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def parse(markup: str) -> Node:
    builder = TreeBuilder()
    builder.feed(markup)
    builder.close()
    return builder.root


# ------------------------------------------------------------------------------------ chromium

def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("Chromium is not installed: apt-get install -y chromium (the HTML report test needs a real browser)")


def run_chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess:
    return subprocess.run([chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    root = tmp_path_factory.mktemp("artifacts")
    report = make_report(root)
    page = tmp_path_factory.mktemp("page") / "report.html"
    page.write_text(WRITERS["html"](report), "utf-8")
    profile = tmp_path_factory.mktemp("chromium-profile")
    dumped = run_chromium(["--virtual-time-budget=2000", "--dump-dom", page.as_uri()], profile)
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    assert "<html" in dumped.stdout, dumped.stderr[-2000:]
    shot = page.with_name("report.png")
    taken = run_chromium(["--window-size=1280,2400", f"--screenshot={shot}", page.as_uri()], profile)
    assert taken.returncode == 0, taken.stderr[-2000:]
    return {"report": report, "source": page.read_text("utf-8"), "dom": parse(dumped.stdout),
            "dom_text": dumped.stdout, "screenshot": shot}


# ------------------------------------------------------------------------------------ tests

def test_no_script_ran_but_ours(rendered):
    dom = rendered["dom"]
    titles = dom.find_all("title")
    assert [t.text() for t in titles] == ["kcompat report"]
    html_el = dom.find_all("html")[0]
    assert html_el.attrs.get("data-js") == "ready", "the report's own script did not run (CSP hash?)"
    assert len(dom.find_all("script")) == 1
    assert dom.find_all("img") == []
    for node in dom.iter():
        assert not any(name.startswith("on") for name in node.attrs), (node.tag, node.attrs)
    assert [n.tag for n in dom.find_all("svg") if n.attrs.get("onload")] == []


def test_hostile_strings_render_as_text(rendered):
    dom = rendered["dom"]
    text = dom.text()
    assert SCRIPT_NAME in text
    assert IMG_NAME in text
    assert HOSTILE_FILE in text
    assert "Hostile<b>Op</b>" in text
    layer_cells = [c.text() for c in dom.find_all("td")]
    assert any(SCRIPT_NAME in c for c in layer_cells)
    assert any(IMG_NAME in c for c in layer_cells)
    assert dom.find_all("b") == []
    # in the source, the markup characters are escaped everywhere
    assert "<script>document.title" not in rendered["source"]
    assert "<img src=x" not in rendered["source"]


def test_every_finding_code_and_verdict(rendered):
    dom, report = rendered["dom"], rendered["report"]
    codes = {f.code for f in report.findings}
    assert {"KC101", "KC107", "KC111", "KC604", "KC808"} <= codes
    finding_codes = {n.text().strip() for n in dom.find_all(cls="code") if n.parent and "finding-head" in n.parent.classes}
    assert codes <= finding_codes
    sections = dom.find_all("section", "artifact")
    assert len(sections) == len(report.artifacts) == 7
    labels = {}
    for section, entry in zip(sections, report.artifacts):
        banner = [n for n in section.find_all(cls="verdict") if n.tag == "div"][0]
        label = banner.find_all(cls="verdict-label")[0].text()
        labels[Path(entry.artifact.path).name] = label
        assert ("verdict-" + html.verdict(entry)) in banner.classes
    assert labels["model.h5"] == "cannot load here"
    # a weights file is meant for model.load_weights: KC107 (load_model would fail) is a warning there
    assert labels["weights_only.h5"] == "fix first"
    assert labels["model.tflite"] == "fix first"
    assert labels["clean.keras"] == "ship"
    # the index at the top links to every section with its verdict
    index = dom.find_all("nav", "index")[0]
    links = [a.attrs["href"] for a in index.find_all("a")]
    assert links == [f"#{s.attrs['id']}" for s in sections]
    assert {p.text() for p in index.find_all(cls="pill-label")} >= {"ship", "fix first", "cannot load here"}


def test_codes_link_to_rule_docs_appendix(rendered):
    dom = rendered["dom"]
    anchors = {n.attrs["id"] for n in dom.find_all("article", "rule")}
    assert "kc101-lfs-pointer" in anchors
    assert "kc107-weights-only" in anchors
    links = {a.attrs["href"] for a in dom.find_all("a", "code")}
    assert "#kc101-lfs-pointer" in links
    assert {link[1:] for link in links} <= anchors
    # only codes that occur get a doc
    assert "kc105-zip-path-traversal" not in anchors
    fixes = [n.text() for n in dom.find_all("div", "fix")]
    assert any("git lfs pull" in f for f in fixes)
    assert all(f.find_all("code") for f in dom.find_all("div", "fix"))


def test_load_matrix_grid(rendered):
    dom = rendered["dom"]
    matrix = dom.find_all("table", "matrix")
    assert len(matrix) == 1
    header = [th.text() for th in matrix[0].find_all("thead")[0].find_all("th")][1:]
    assert header == ["default", "one-device-cpu", "mirrored"]
    rows = matrix[0].find_all("tbody")[0].find_all("tr")
    assert [r.find_all("th")[0].text() for r in rows] == ["keras", "tf_keras", "tf_saved_model"]
    cells = [[c for c in r.find_all("td")] for r in rows]
    assert "st-ok" in cells[0][0].classes and "1.25 s" in cells[0][0].text() and "Δ 3.0e-07" in cells[0][0].text()
    assert "st-error" in cells[0][1].classes and "KC801" in cells[0][1].text() and "2.25 s" in cells[0][1].text()
    assert "st-crash" in cells[0][2].classes
    assert "st-timeout" in cells[1][0].classes
    assert "st-oom" in cells[1][1].classes
    assert "st-skipped" in cells[1][2].classes
    assert "st-refused" in cells[2][0].classes
    assert "st-ok" in cells[2][1].classes
    assert "st-none" in cells[2][2].classes
    assert cells[0][1].attrs["title"] == IMG_NAME  # hostile message stays an attribute value


def test_facts_layers_signatures_env(rendered):
    dom = rendered["dom"]
    custom_rows = [r for r in dom.find_all("tr", "custom")]
    assert len(custom_rows) == 1 and "scale" in custom_rows[0].text() and "my_pkg>Scale" in custom_rows[0].text()
    sig_text = " ".join(t.text() for t in dom.find_all("table", "sigs"))
    assert "serving_default" in sig_text and "float32" in sig_text and "(None, 4)" in sig_text
    ops = " ".join(u.text() for u in dom.find_all("ul", "ops"))
    assert "Hostile<b>Op</b>" in ops
    env = dom.find_all("section", "env")[0].text()
    assert "tensorflow 2.15.0" in env and "50 entries" in env and SCRIPT_NAME in env
    headings = [h.text() for h in dom.find_all("h3")]
    assert "Static and dynamic verdicts disagree" in headings


def test_self_contained_and_printable(rendered):
    source = rendered["source"]
    dom = rendered["dom"]
    # nothing is fetched: no src=, no <link>, no CSS url(); <a href> to rule references is navigation only
    assert [n.tag for n in dom.iter() if "src" in n.attrs or "srcset" in n.attrs] == []
    assert dom.find_all("link") == [] and dom.find_all("iframe") == [] and dom.find_all("object") == []
    assert "@import" not in source and "url(" not in source
    assert "@media print" in source
    csp = [m.attrs["content"] for m in dom.find_all("meta") if m.attrs.get("http-equiv") == "Content-Security-Policy"]
    assert len(csp) == 1 and "default-src 'none'" in csp[0] and "'unsafe-inline'" not in csp[0].split("script-src")[1]
    shot = rendered["screenshot"]
    assert shot.is_file() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


def test_loads_grid_view_model():
    assert html.loads_grid([]) is None
    grid = html.loads_grid([
        {"loader": "custom-loader", "strategy": "mirrored", "status": "weird"},
        {"loader": "keras", "strategy": "default", "status": "ok", "wall_s": 12.345, "max_abs_diff": 0.0},
    ])
    assert grid["strategies"] == ["default", "mirrored"]
    assert [r["loader"] for r in grid["rows"]] == ["keras", "custom-loader"]
    ok = grid["rows"][0]["cells"][0]
    assert ok["css"] == "st-ok" and ok["time"] == "12.3 s" and ok["diff"] == "Δ 0"
    assert grid["rows"][0]["cells"][1]["empty"]
    assert grid["rows"][1]["cells"][1]["css"] == "st-other" and grid["rows"][1]["cells"][1]["label"] == "weird"


@pytest.mark.parametrize(("layer", "custom"), [
    (Layer(path="d", name="d", class_name="Dense", module="keras.layers"), False),
    (Layer(path="d", name="d", class_name="Dense"), False),
    (Layer(path="d", name="d", class_name="Dense", module="tf_keras.src.layers"), False),
    (Layer(path="s", name="s", class_name="Scale", module="my_pkg.layers"), True),
    (Layer(path="s", name="s", class_name="Scale", module="keras.layers", registered_name="pkg>Scale"), True),
    (Layer(path="s", name="s", class_name="MyBlock"), True),
    (Layer(path="s", name="s", class_name="Dense", module="keras_hub.layers"), True),
])
def test_custom_layer_heuristic(layer, custom):
    assert html.is_custom(layer) is custom
