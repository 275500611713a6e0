// The lesson panel: run a step's command in the page's terminal, copy it, and the architecture tour (the
// components in the drawing and in the panel open the seed's description). Whether a step is done comes from the
// server (the lesson checker watches the cluster); nothing here marks anything.
(() => {
  "use strict";

  function show(component) {
    const panel = document.getElementById("lessons");
    if (!panel) return false;
    let found = false;
    for (const text of panel.querySelectorAll(".tour-text")) {
      const mine = text.dataset.component === component;
      text.hidden = !mine;
      found ||= mine;
    }
    for (const button of panel.querySelectorAll(".tour-component")) {
      button.setAttribute("aria-expanded", String(button.dataset.component === component));
    }
    if (found) panel.querySelector(".tour")?.closest("details")?.setAttribute("open", "");
    return found;
  }

  // The drawing's boxes name their component (`kubelet@k8s-node1`); flannel is drawn without a box name.
  function componentOf(el) {
    if (el.classList.contains("flannel")) return "flannel";
    const box = el.dataset.box || "";
    return box.split("@")[0];
  }

  function markDrawing() {
    for (const el of document.querySelectorAll("#figure [data-box], #figure .flannel")) {
      const c = componentOf(el);
      if (!c || c === "client") continue;
      el.classList.add("tour-target");
      if (!el.hasAttribute("tabindex")) el.tabIndex = 0;
      el.setAttribute("role", "button");
    }
  }

  document.addEventListener("click", (e) => {
    const run = e.target.closest(".run-in-terminal");
    if (run) {
      const line = document.getElementById("terminal-line");
      const form = document.getElementById("terminal-form");
      if (line && form) {
        line.value = run.dataset.line;
        form.requestSubmit();
      }
      return;
    }
    const copy = e.target.closest(".copy[data-line]");
    if (copy) {
      navigator.clipboard?.writeText(copy.dataset.line).catch(() => {});
      return;
    }
    const tour = e.target.closest(".tour-component");
    if (tour) {
      show(tour.dataset.component);
      return;
    }
    const box = e.target.closest("#figure .tour-target");
    if (box) show(componentOf(box));
  });

  document.addEventListener("keydown", (e) => {
    if (e.key !== "Enter" && e.key !== " ") return;
    const box = e.target.closest?.("#figure .tour-target");
    if (!box) return;
    e.preventDefault();
    show(componentOf(box));
  });

  document.addEventListener("DOMContentLoaded", markDrawing);
  document.body?.addEventListener("htmx:afterSettle", markDrawing);
})();
