// The practice page: lists the bundled questions, sends the answer to POST /v1/grade and shows the
// report. Every piece of text is put in the page with textContent or as a text node, never as HTML:
// answers (and rubric text) are untrusted.
"use strict";

(() => {
  const SVG = "http://www.w3.org/2000/svg";
  // Chart layout in pixels, as the HTML report draws it (html_report.py).
  const LABEL_WIDTH = 250, BAR_WIDTH = 300, VALUE_WIDTH = 50, ROW_HEIGHT = 26, BAR_HEIGHT = 16;
  const STEPS = ["requirements", "framing", "data", "modeling", "evaluation", "serving", "monitoring", "answer"];

  const $ = (id) => document.getElementById(id);
  const form = $("practice"), question = $("question"), prompt = $("prompt"), answerBox = $("answer");
  const submit = $("submit"), status = $("status"), errorBox = $("error"), keyBox = $("key-box");
  let questions = [];

  function el(tag, attrs, ...children) {
    const node = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
    for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    return node;
  }

  const stepClass = (step) => (STEPS.includes(step) ? "s-" + step : "s-none");

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
  }

  function clearError() {
    errorBox.textContent = "";
    errorBox.hidden = true;
  }

  class ApiError extends Error {
    constructor(status, code, message, retryAfter) {
      super(message);
      this.status = status;
      this.code = code;
      this.retryAfter = retryAfter;
    }
  }

  async function api(path, body) {
    const headers = { "Accept": "application/json" };
    const key = $("api-key").value.trim();
    if (key) headers["Authorization"] = "Bearer " + key;
    const options = { method: body === undefined ? "GET" : "POST", headers };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, options);
    } catch (err) {
      throw new ApiError(0, "network", "The server cannot be reached. Is mlsd-grader serve still running?");
    }
    let data = null;
    try {
      data = await response.json();
    } catch (err) {
      data = null;
    }
    if (!response.ok) {
      const error = (data && data.error) || {};
      throw new ApiError(response.status, error.code || "http_" + response.status,
        error.message || "The server answered " + response.status + ".", response.headers.get("Retry-After"));
    }
    return data;
  }

  function explain(err) {
    if (err.status === 401) {
      keyBox.open = true;
      return "This server needs an API key: enter it under \u201cAPI key\u201d and grade again.";
    }
    if (err.status === 503) {
      const wait = err.retryAfter ? " in " + err.retryAfter + " s" : " in a moment";
      return "The server is busy (" + err.message + "). Your answer is kept; try again" + wait + ".";
    }
    if (err.status === 413) return "The answer is too long for this server (" + err.message + ").";
    return err.message;
  }

  function showPrompt() {
    const chosen = questions.find((q) => q.id === question.value);
    prompt.textContent = chosen ? chosen.question : "";
  }

  async function loadQuestions() {
    try {
      questions = await api("/v1/rubrics");
    } catch (err) {
      question.replaceChildren(el("option", {}, "No questions"));
      showError("The questions could not be loaded: " + explain(err));
      return;
    }
    question.replaceChildren(...questions.map((q) => el("option", { value: q.id }, q.title)));
    question.disabled = false;
    showPrompt();
  }

  // ---------------------------------------------------------------- the report

  function chart(report) {
    const width = LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH, height = ROW_HEIGHT * report.steps.length;
    const svg = el("svg:svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img",
      "aria-label": "Score per step" }, el("svg:title", {}, "Score per step"));
    report.steps.forEach((step, i) => {
      const y = i * ROW_HEIGHT, text = y + ROW_HEIGHT / 2 + 4, score = step.score.toFixed(2);
      svg.append(
        el("svg:text", { class: "label", x: 0, y: text }, step.title),
        el("svg:rect", { class: "track", x: LABEL_WIDTH, y: y + 4, width: BAR_WIDTH, height: BAR_HEIGHT }),
        el("svg:rect", { class: "bar " + stepClass(step.id), "data-step": step.id, x: LABEL_WIDTH, y: y + 4,
          width: (step.score * BAR_WIDTH).toFixed(1), height: BAR_HEIGHT }, el("svg:title", {}, step.title + ": " + score)),
        el("svg:text", { class: "value", x: LABEL_WIDTH + BAR_WIDTH + 8, y: text }, score));
    });
    return svg;
  }

  function marksOf(report) {
    const marks = [];
    for (const step of report.steps) {
      for (const crit of step.criteria) {
        for (const match of crit.matched) {
          for (const ev of match.evidence) marks.push({ start: ev.start, end: ev.end, step: step.id, kind: "evidence", label: match.concept });
        }
        for (const hit of crit.anti_patterns) {
          for (const ev of hit.evidence) marks.push({ start: ev.start, end: ev.end, step: step.id, kind: "anti-pattern", label: "avoid: " + hit.id });
        }
      }
    }
    return marks;
  }

  // The answer with each evidence span in a <mark>. Report offsets count code points, so the text is
  // cut as an array of code points (a JavaScript string counts UTF-16 units). Overlaps merge as in
  // the HTML report: each piece is marked by every span that covers it.
  function highlighted(answer, report) {
    const chars = Array.from(answer), marks = marksOf(report);
    const points = [...new Set([0, chars.length, ...marks.flatMap((m) => [m.start, m.end])])]
      .filter((p) => p >= 0 && p <= chars.length).sort((a, b) => a - b);
    const out = [];
    for (let i = 0; i + 1 < points.length; i++) {
      const a = points[i], b = points[i + 1], text = chars.slice(a, b).join("");
      const active = marks.filter((m) => m.start <= a && b <= m.end);
      if (!active.length) {
        out.push(document.createTextNode(text));
        continue;
      }
      const kind = active.some((m) => m.kind === "anti-pattern") ? "anti-pattern" : "evidence";
      const labels = [...new Set(active.map((m) => m.label))].join("; ");
      out.push(el("mark", { class: kind + " " + stepClass(active[0].step), "data-step": active[0].step, title: labels }, text));
    }
    return out;
  }

  function feedback(report) {
    return report.steps.map((step) => el("div", { class: "step " + stepClass(step.id) },
      el("h4", {}, step.title + " \u2014 " + step.score.toFixed(2)),
      el("ul", {}, ...step.feedback.map((line) => el("li", {}, line)))));
  }

  function showReport(report, answer) {
    const overall = $("overall");
    overall.replaceChildren("Score ", el("strong", {}, report.score.toFixed(2)), " ",
      el("span", { class: "band band-" + report.band }, report.band.replace(/_/g, " ")));
    $("chart").replaceChildren(chart(report));
    $("warnings").replaceChildren(...report.warnings.map((w) => el("li", {}, w.message)));
    $("feedback").replaceChildren(...feedback(report));
    $("highlighted").replaceChildren(...highlighted(answer, report));
    $("signature").textContent = report.signature;
    const section = $("report");
    section.hidden = false;
    section.focus();
  }

  // ---------------------------------------------------------------- events

  async function grade(event) {
    event.preventDefault();
    clearError();
    const answer = answerBox.value;
    if (!answer.trim()) {
      showError("Write or paste an answer first: the text box is empty.");
      answerBox.focus();
      return;
    }
    if (!question.value) {
      showError("Choose a question first.");
      question.focus();
      return;
    }
    submit.disabled = true;
    status.textContent = "Grading\u2026";
    try {
      const report = await api("/v1/grade", { answer, rubric: question.value });
      status.textContent = "Graded.";
      showReport(report, answer);
    } catch (err) {
      status.textContent = "";
      showError(explain(err));
    } finally {
      submit.disabled = false;
    }
  }

  form.addEventListener("submit", grade);
  question.addEventListener("change", showPrompt);
  answerBox.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
  });
  loadQuestions();
})();
