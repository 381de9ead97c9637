// The YAML editor of the rule pages: CodeMirror 6 over a <textarea data-editor="yaml">.
//
// Opt-in per textarea, so that any page's form gets it by its attributes:
//   data-editor="yaml"            turns the textarea into the editor
//   data-validate-url="/..."      POSTs the form (the text included) there, 500 ms after the last
//                                 keystroke, and shows the [{line, message}] it answers inline
//   data-names="<element id>"     a <script type="application/json"> with the names to complete:
//                                 {"states": [...], "fields": [...], "roles": [...], ...}
// The textarea stays in the form, hidden and kept in sync with every change, so the form posts
// as it did; without JavaScript the page is the plain form. CodeMirror writes its styles into a
// <style> element: the page's Content-Security-Policy allows it by a per-response nonce, which
// the server puts on this script's element (web/headers.py) and EditorView.cspNonce passes on.
import {autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap} from "@codemirror/autocomplete";
import {defaultKeymap, history, historyKeymap, indentWithTab} from "@codemirror/commands";
import {yaml} from "@codemirror/lang-yaml";
import {bracketMatching, defaultHighlightStyle, foldGutter, foldKeymap, indentOnInput,
        syntaxHighlighting} from "@codemirror/language";
import {lintGutter, linter, lintKeymap} from "@codemirror/lint";
import {highlightSelectionMatches, searchKeymap} from "@codemirror/search";
import {EditorState} from "@codemirror/state";
import {drawSelection, EditorView, highlightActiveLine, highlightActiveLineGutter, keymap,
        lineNumbers} from "@codemirror/view";

const NONCE = document.currentScript ? document.currentScript.nonce : "";
const LINT_DELAY = 500; // ms after the last change: one request a pause, not one a keystroke
// what each kind of name is shown as in the completion list (CodeMirror's icon classes)
const KINDS = {states: ["enum", "state"], fields: ["property", "field"], roles: ["type", "role"],
               tables: ["class", "table"], calendars: ["constant", "calendar"],
               queues: ["namespace", "queue"], workflows: ["interface", "workflow"]};

function namesOf(textarea) {
  const island = textarea.dataset.names && document.getElementById(textarea.dataset.names);
  if (!island) return [];
  let names;
  try { names = JSON.parse(island.textContent); } catch (e) { return []; }
  const options = [];
  for (const [kind, [type, detail]] of Object.entries(KINDS)) {
    for (const label of names[kind] || []) options.push({label, type, detail});
  }
  return options;
}

// the keys whose values are names of one kind: those come first in the list there
const KEYS = [[/\b(from|to|state|initial|pause_in|stop_in|start_in|states)\s*:/, "state"],
              [/\b(roles|among|role)\s*:/, "role"], [/\b(calendar|calendars)\s*:/, "calendar"],
              [/\b(table|decide|tables)\s*:/, "table"], [/\bqueue\s*:/, "queue"],
              [/\b(needs|asks|accepts|field|fields|set|inputs|given)\s*:/, "field"]];

function completeNames(options) {
  return (context) => {
    const word = context.matchBefore(/[\w.-]+/);
    if (!word && !context.explicit) return null;
    const line = context.state.doc.lineAt(context.pos);
    const before = line.text.slice(0, context.pos - line.from);
    const key = KEYS.find(([pattern]) => pattern.test(before));
    const ranked = key ? options.map((o) => o.detail === key[1] ? {...o, boost: 50} : o) : options;
    return {from: word ? word.from : context.pos, options: ranked, validFor: /^[\w.-]*$/};
  };
}

function problemsFrom(url, form) {
  return async (view) => {
    const body = new URLSearchParams(new FormData(form));
    let answer;
    try {
      answer = await fetch(url, {method: "POST", body, headers: {"Accept": "application/json"},
                                 credentials: "same-origin"});
    } catch (e) { return []; } // offline: the buttons still validate
    if (!answer.ok) return [];
    const problems = await answer.json();
    const doc = view.state.doc;
    return problems.map(({line, message}) => {
      const at = doc.line(Math.min(Math.max(line, 1), doc.lines));
      return {from: at.from, to: at.to, severity: "error", message};
    });
  };
}

function enhance(textarea) {
  const form = textarea.form;
  const label = form && form.querySelector(`label[for="${textarea.id}"]`);
  const extensions = [
    lineNumbers(), highlightActiveLineGutter(), foldGutter(), history(), drawSelection(),
    indentOnInput(), bracketMatching(), closeBrackets(), highlightActiveLine(),
    highlightSelectionMatches(), syntaxHighlighting(defaultHighlightStyle, {fallback: true}),
    yaml(), EditorState.tabSize.of(2), EditorView.lineWrapping, EditorView.cspNonce.of(NONCE),
    keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...searchKeymap, ...historyKeymap,
               ...foldKeymap, ...completionKeymap, ...lintKeymap, indentWithTab]),
    autocompletion({override: [completeNames(namesOf(textarea))]}),
    EditorView.contentAttributes.of({"aria-label": label ? label.textContent : "YAML",
                                     "spellcheck": "false", "autocapitalize": "off"}),
    EditorView.updateListener.of((update) => {
      if (update.docChanged) textarea.value = update.state.doc.toString();
    }),
  ];
  if (textarea.dataset.validateUrl && form) {
    extensions.push(lintGutter(),
                    linter(problemsFrom(textarea.dataset.validateUrl, form), {delay: LINT_DELAY}));
  }
  const view = new EditorView({
    state: EditorState.create({doc: textarea.value, extensions}),
  });
  textarea.after(view.dom);
  textarea.hidden = true;
  textarea.dataset.enhanced = "true";
  if (label) label.addEventListener("click", () => view.focus());
  // the view, for pages and tests that set the text (typing goes through it anyway)
  textarea.editorView = view;
  return view;
}

function enhanceAll(root) {
  root.querySelectorAll('textarea[data-editor="yaml"]:not([data-enhanced])').forEach(enhance);
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", () => enhanceAll(document));
} else {
  enhanceAll(document);
}
document.addEventListener("htmx:afterSettle", (event) => enhanceAll(event.target));
