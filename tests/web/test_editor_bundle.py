"""The YAML editor's committed bundle (web/static/editor-*.min.js) is what its recipe in
editor/ builds: its header names exactly the package versions of editor/package-lock.json, so
a bundle that drifts from the recipe (or a recipe changed without a rebuild) fails here."""

from __future__ import annotations

import json
import re

from tests.fixtures import ROOT

EDITOR = ROOT / "editor"
STATIC = ROOT / "web" / "static"
HEADER = re.compile(r"^/\*! casework editor \(editor/src/editor\.js\), built by "
                    r"editor/build\.mjs from: (.*?) \(MIT licensed\) \*/\n")


def locked() -> dict[str, str]:
    """Every package the lock file installs, but the bundler (name -> version)."""
    lock = json.loads((EDITOR / "package-lock.json").read_text())
    return {path.removeprefix("node_modules/"): info["version"]
            for path, info in lock["packages"].items()
            if path.startswith("node_modules/") and "esbuild" not in path}


def test_one_bundle_is_committed_named_by_its_codemirror_version() -> None:
    bundles = sorted(p.name for p in STATIC.glob("editor-*.min.js"))
    assert bundles == [f"editor-{locked()['@codemirror/view']}.min.js"]
    include = (ROOT / "web" / "templates" / "_yaml_editor.html").read_text()
    assert f'<script src="/static/{bundles[0]}" defer nonce=' in include


def test_the_bundle_header_names_exactly_the_locked_versions() -> None:
    (bundle,) = STATIC.glob("editor-*.min.js")
    header = HEADER.match(bundle.read_text())
    assert header, f"{bundle.name} does not start with editor/build.mjs's header: rebuild it"
    named = dict(item.rsplit("@", 1) for item in header.group(1).split(" "))
    assert named == locked(), "the bundle is not built from editor/package-lock.json: " \
        "run `npm ci && npm run build` in editor/"


def test_the_recipe_asks_for_what_the_lock_holds_and_the_bundle_needs_no_eval() -> None:
    wanted = json.loads((EDITOR / "package.json").read_text())["devDependencies"]
    assert {"@codemirror/lang-yaml", "@codemirror/lint", "@codemirror/autocomplete",
            "@codemirror/view", "esbuild"} <= set(wanted)
    lock = json.loads((EDITOR / "package-lock.json").read_text())
    assert lock["packages"][""]["devDependencies"] == wanted
    (bundle,) = STATIC.glob("editor-*.min.js")
    text = bundle.read_text()
    # the Content-Security-Policy has no 'unsafe-eval' (web/headers.py)
    assert "eval(" not in text and "new Function" not in text
    assert "https://" not in text  # it loads nothing from anywhere (no CDN)


def test_the_license_notices_of_every_bundled_package_go_with_it() -> None:
    view = locked()["@codemirror/view"]
    notices = (STATIC / f"editor-{view}.licenses.txt").read_text()
    parts = notices.split("\n" + "-" * 72 + "\n\n")
    named = [re.search(r"^(\S+@[\d.]+)$", part, re.MULTILINE) for part in parts]
    assert [n.group(1) if n else None for n in named] == [
        f"{name}@{version}" for name, version in sorted(locked().items())]
    for part in parts:
        assert "Permission is hereby granted, free of charge" in part  # MIT's terms, in each
    assert sorted(p.name for p in STATIC.glob("editor-*.licenses.txt")) == [
        f"editor-{view}.licenses.txt"]
