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

  // The current step stays in view inside the panel as the lesson moves on.
  function showCurrent() {
    const panel = document.getElementById("lessons");
    let current = panel?.querySelector(".lesson-step.current");
    if (!current) return;
    // The step just done stays in sight above it, "Done" and all.
    current = current.previousElementSibling || current;
    const top = current.offsetTop - panel.offsetTop;
    if (top < panel.scrollTop || top > panel.scrollTop + panel.clientHeight - 40) panel.scrollTop = top - 8;
  }
  document.body?.addEventListener("htmx:afterSwap", (e) => {
    if (e.detail.target?.id === "lessons") showCurrent();
  });

  document.addEventListener("DOMContentLoaded", () => { markDrawing(); showCurrent(); });
  document.body?.addEventListener("htmx:afterSettle", markDrawing);
})();

// The story opens on the cluster's own start-up (kubeadm, the kube-system pods): everything told before the
// learner's first command is folded into one line that expands, so the learner's own actions come first.
(() => {
  "use strict";
  const list = document.getElementById("steps");
  if (!list) return;
  const COMPONENT = /^(kubeadm|kube-[a-z-]+|kubelet(\/.*)?|garbage-collector|[a-z-]+-controller)$/;
  let open = false;

  function toggle() {
    let li = list.querySelector(":scope > li.startup-toggle");
    const hidden = list.querySelectorAll(":scope > li.startup");
    if (!hidden.length) {
      li?.remove();
      return;
    }
    if (!li) {
      li = document.createElement("li");
      li.className = "startup-toggle";
      const button = document.createElement("button");
      button.type = "button";
      button.addEventListener("click", () => {
        open = !open;
        list.classList.toggle("show-startup", open);
        button.setAttribute("aria-expanded", String(open));
      });
      li.append(button);
    }
    if (list.firstElementChild !== li) list.prepend(li);
    const button = li.firstElementChild;
    button.textContent = (list.dataset.startup || "Start-up of the cluster (%s steps)").replace("%s", hidden.length);
    button.setAttribute("aria-expanded", String(open));
  }

  // Stateless: the leading run of component steps is the start-up, whatever the list holds now (a reconnect
  // replaces it with the snapshot's steps).
  function fold() {
    for (const li of list.querySelectorAll(":scope > li:not(.startup-toggle)")) {
      if (li.classList.contains("startup")) continue;
      if (!COMPONENT.test(li.dataset.actor || "")) break;
      li.classList.add("startup");
    }
    toggle();
  }

  new MutationObserver(fold).observe(list, { childList: true });
  fold();
})();
